using System.Buffers;
using System.IO.Pipelines;

namespace Fastsock.Perf.TlsRecords;

/// <summary>
/// The ciphertext stream under one SslStream. During the handshake it is one end of an in-memory duplex (two pipes, so
/// both sides can wait for each other). Afterwards it reads from a prepared buffer, at most one record per read (what
/// our connection pipe holds for one keep-alive request), and appends what is written to another buffer: every call
/// completes synchronously, as ConnectionPipeStream's do when the data is there.
/// </summary>
internal sealed class MemoryTransport(PipeReader handshakeInput, PipeWriter handshakeOutput) : Stream
{
    private bool _handshaking = true;
    private byte[] _input = [];
    private int[] _inputEnds = [];
    private int _inputStart;
    private int _inputRecord;
    private int _inputRecords;
    private byte[] _output = [];
    private int[] _outputEnds = [];

    public int OutputLength { get; private set; }

    public int OutputWrites { get; private set; }

    public byte[] Output => _output;

    public int[] OutputEnds => _outputEnds;

    /// <summary>After the handshake: whatever the peer sent and nobody read yet goes in front of the first input.</summary>
    public byte[] EndHandshake()
    {
        _handshaking = false;
        if (handshakeInput.TryRead(out var rest))
        {
            var bytes = rest.Buffer.ToArray();
            handshakeInput.AdvanceTo(rest.Buffer.End);
            return bytes;
        }

        return [];
    }

    /// <summary>Reads come from <paramref name="data"/>, never past the next of <paramref name="ends"/>.</summary>
    public void SetInput(byte[] data, int[] ends, int records)
    {
        _input = data;
        _inputEnds = ends;
        _inputRecords = records;
        _inputStart = 0;
        _inputRecord = 0;
    }

    /// <summary>Writes go to a buffer of <paramref name="capacity"/> bytes, each write's end noted.</summary>
    public void ResetOutput(int capacity, int writes)
    {
        if (_output.Length < capacity)
        {
            _output = new byte[capacity];
        }

        if (_outputEnds.Length < writes)
        {
            _outputEnds = new int[writes];
        }

        OutputLength = 0;
        OutputWrites = 0;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_handshaking)
        {
            return ReadHandshakeAsync(buffer, cancellationToken);
        }

        if (_inputRecord >= _inputRecords)
        {
            throw new InvalidOperationException("the benchmark read past its prepared records");
        }

        int end = _inputEnds[_inputRecord];
        int count = Math.Min(end - _inputStart, buffer.Length);
        _input.AsSpan(_inputStart, count).CopyTo(buffer.Span);
        _inputStart += count;
        if (_inputStart == end)
        {
            _inputRecord++;
        }

        return new ValueTask<int>(count);
    }

    private async ValueTask<int> ReadHandshakeAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var result = await handshakeInput.ReadAsync(cancellationToken);
        int count = (int)Math.Min(result.Buffer.Length, buffer.Length);
        result.Buffer.Slice(0, count).CopyTo(buffer.Span);
        handshakeInput.AdvanceTo(result.Buffer.GetPosition(count));
        return count;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_handshaking)
        {
            return WriteHandshakeAsync(buffer, cancellationToken);
        }

        buffer.Span.CopyTo(_output.AsSpan(OutputLength));
        OutputLength += buffer.Length;
        if (OutputWrites < _outputEnds.Length)
        {
            _outputEnds[OutputWrites] = OutputLength;
        }

        OutputWrites++;
        return ValueTask.CompletedTask;
    }

    private async ValueTask WriteHandshakeAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken) =>
        await handshakeOutput.WriteAsync(buffer, cancellationToken);

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
