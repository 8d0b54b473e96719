using System.Threading.Tasks.Sources;

namespace Fastsock.Perf.TlsRecords;

/// <summary>
/// The ciphertext stream under one server SslStream during its handshake, standing in for the runtime's
/// ConnectionPipeStream (which needs a worker and a socket): a read with bytes waiting completes synchronously; a read
/// with none pends on a value-task source that <see cref="Deliver"/> completes inline, so SslStream's continuation runs
/// on the delivering thread, inside the benchmark's timing, as it runs on the worker in the runtime. Writes are
/// appended to the flight the client will read. One per connection, as ConnectionPipeStream is.
/// </summary>
internal sealed class HandshakeTransport : Stream, IValueTaskSource<int>
{
    private readonly byte[] _input = new byte[16 * 1024];
    private int _inputStart;
    private int _inputEnd;
    private ManualResetValueTaskSourceCore<int> _read; // RunContinuationsAsynchronously stays false: inline
    private Memory<byte> _readBuffer;
    private bool _readPending;

    public ByteSink? Output { get; set; }

    /// <summary>SslStream is waiting for bytes: the only state a server step may end in before its handshake is done.</summary>
    public bool ReadPending => _readPending;

    /// <summary>The client's bytes arrive; a pending read completes here and SslStream goes on inline.</summary>
    public void Deliver(ReadOnlySpan<byte> data)
    {
        if (_inputStart == _inputEnd)
        {
            _inputStart = _inputEnd = 0;
        }

        if (_input.Length - _inputEnd < data.Length)
        {
            throw new InvalidOperationException($"a client flight of {data.Length} B does not fit the transport's {_input.Length} B buffer");
        }

        data.CopyTo(_input.AsSpan(_inputEnd));
        _inputEnd += data.Length;
        if (_readPending)
        {
            _readPending = false;
            int count = CopyOut(_readBuffer.Span);
            _readBuffer = default;
            _read.SetResult(count);
        }
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_inputStart < _inputEnd)
        {
            return new ValueTask<int>(CopyOut(buffer.Span));
        }

        _read.Reset();
        _readBuffer = buffer;
        _readPending = true;
        return new ValueTask<int>(this, _read.Version);
    }

    // A zero-byte read (SslStream waits that way before renting its buffer) completes with 0 once bytes are there.
    private int CopyOut(Span<byte> buffer)
    {
        int count = Math.Min(_inputEnd - _inputStart, buffer.Length);
        _input.AsSpan(_inputStart, count).CopyTo(buffer);
        _inputStart += count;
        return count;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Output!.Append(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    int IValueTaskSource<int>.GetResult(short token) => _read.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _read.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _read.OnCompleted(continuation, state, token, flags);

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("the handshake benchmark drives SslStream asynchronously only");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("the handshake benchmark drives SslStream asynchronously only");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
