using System.Buffers;
using Fastsock.Http;

namespace Fastsock.Samples.Hello;

/// <summary>
/// Hello ignores request bodies, but must step over them to find the next pipelined request:
/// Content-Length bytes are counted off, chunked bodies are decoded (and so validated) and dropped.
/// </summary>
internal struct RequestBody
{
    private long _remaining;
    private ChunkedBodyDecoder? _chunked;
    private bool _inChunked;

    public void Start(long contentLength, bool chunked)
    {
        _remaining = contentLength > 0 ? contentLength : 0;
        if (chunked)
        {
            _chunked ??= new ChunkedBodyDecoder();
            _chunked.Reset();
            _inChunked = true;
        }
    }

    /// <summary>Drops body bytes from the front of <paramref name="buffer"/>; true when the body is done.</summary>
    public bool Skip(ref ReadOnlySequence<byte> buffer, out HttpParseError? error)
    {
        error = null;
        if (_remaining > 0)
        {
            long take = Math.Min(_remaining, buffer.Length);
            buffer = buffer.Slice(take);
            _remaining -= take;
            return _remaining == 0;
        }

        while (_inChunked)
        {
            var status = _chunked!.Decode(buffer, out _, out var consumed);
            buffer = buffer.Slice(consumed);
            switch (status)
            {
                case ChunkedBodyStatus.Complete:
                    _inChunked = false;
                    return true;
                case ChunkedBodyStatus.Error:
                    error = _chunked.Error;
                    return false;
                case ChunkedBodyStatus.NeedMoreData:
                    return false;
            }
        }

        return true;
    }
}
