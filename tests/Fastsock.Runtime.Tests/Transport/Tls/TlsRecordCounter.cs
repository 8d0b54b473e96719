namespace Fastsock.Tests.Transport.Tls;

/// <summary>
/// A client's ciphertext stream that counts the TLS records it reads by content type, from their 5-byte headers
/// (type, version, length: RFC 8446 §5.1), so a test can tell how many records the server wrote for one answer.
/// </summary>
internal sealed class TlsRecordCounter(Stream inner) : Stream
{
    public const byte ApplicationData = 23;

    private readonly byte[] _header = new byte[5];
    private readonly int[] _byType = new int[256];
    private int _headerBytes;
    private int _bodyLeft;

    public int Records(byte contentType)
    {
        lock (_byType)
        {
            return _byType[contentType];
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n = await inner.ReadAsync(buffer, cancellationToken);
        Count(buffer.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private void Count(ReadOnlySpan<byte> bytes)
    {
        lock (_byType)
        {
            while (!bytes.IsEmpty)
            {
                if (_bodyLeft > 0)
                {
                    int skip = Math.Min(_bodyLeft, bytes.Length);
                    _bodyLeft -= skip;
                    bytes = bytes[skip..];
                    continue;
                }

                _header[_headerBytes++] = bytes[0];
                bytes = bytes[1..];
                if (_headerBytes == _header.Length)
                {
                    _byType[_header[0]]++;
                    _bodyLeft = (_header[3] << 8) | _header[4];
                    _headerBytes = 0;
                }
            }
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override int Read(byte[] buffer, int offset, int count)
    {
        int n = inner.Read(buffer, offset, count);
        Count(buffer.AsSpan(offset, n));
        return n;
    }

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
