using System.Net.Sockets;

namespace Fastsock.Tests.Transport.Tls;

/// <summary>
/// The ciphertext under a test server's SslStream, over a socket: passes everything through, except the write after
/// <see cref="CorruptNextWrite"/> (its last byte, inside the AEAD tag, flipped, like <c>TamperingStream</c>) and the
/// write after <see cref="CutNextWrite"/> (only its first half goes out, then a FIN: a truncated record). While
/// <see cref="HoldWrites"/> is set, writes are kept and go out together in one send (<see cref="SendHeldAsync"/>), so
/// the records they hold reach the peer in one segment.
/// </summary>
internal sealed class RecordFaultStream(Socket socket) : Stream
{
    private readonly NetworkStream _inner = new(socket, ownsSocket: false);
    private readonly MemoryStream _held = new();
    private long _bytesSent;

    public bool CorruptNextWrite { get; set; }

    public bool CutNextWrite { get; set; }

    public bool HoldWrites { get; set; }

    /// <summary>Bytes handed to the socket so far (the handshake's too; held ones once sent).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Sends what was held in one send and stops holding.</summary>
    public async Task SendHeldAsync()
    {
        HoldWrites = false;
        int sent = await socket.SendAsync(_held.GetBuffer().AsMemory(0, (int)_held.Length), SocketFlags.None).ConfigureAwait(false);
        if (sent != _held.Length)
        {
            throw new IOException($"one send took {sent} of {_held.Length} held bytes");
        }

        Interlocked.Add(ref _bytesSent, sent);

        _held.SetLength(0);
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (CorruptNextWrite)
        {
            CorruptNextWrite = false;
            var copy = buffer.ToArray();
            copy[^1] ^= 0x01;
            buffer = copy;
        }

        if (HoldWrites)
        {
            _held.Write(buffer.Span);
            return;
        }
        else if (CutNextWrite)
        {
            CutNextWrite = false;
            await _inner.WriteAsync(buffer[..(buffer.Length / 2)], cancellationToken).ConfigureAwait(false);
            Interlocked.Add(ref _bytesSent, buffer.Length / 2);
            socket.Shutdown(SocketShutdown.Send);
            return;
        }

        await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        Interlocked.Add(ref _bytesSent, buffer.Length);
    }

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override void Flush() => _inner.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
            _held.Dispose();
        }

        base.Dispose(disposing);
    }
}
