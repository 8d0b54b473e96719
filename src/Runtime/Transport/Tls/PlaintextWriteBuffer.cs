using System.Buffers;

namespace Fastsock.Transport.Tls;

/// <summary>
/// What a TLS engine's plaintext writer holds between two flushes (both engines share it): one contiguous array
/// rented at the first write after a flush and returned by the flush that sends it, so an idle keep-alive connection
/// holds none. A struct kept in its writer's field, so a write or a flush allocates nothing beyond the pooled array.
/// </summary>
internal struct PlaintextWriteBuffer
{
    private const int MinimumSize = 16 * 1024;

    private byte[]? _array;
    private int _count;
    private bool _completed;

    /// <summary>Bytes written since the last release.</summary>
    public readonly int Count => _count;

    /// <summary>Whether the writer's output was completed: every later write is refused.</summary>
    public readonly bool IsCompleted => _completed;

    /// <summary>What was written since the last release, in one piece.</summary>
    public readonly Memory<byte> Written => _array.AsMemory(0, _count);

    public Memory<byte> GetMemory(int sizeHint)
    {
        Reserve(sizeHint);
        return _array.AsMemory(_count);
    }

    public Span<byte> GetSpan(int sizeHint)
    {
        Reserve(sizeHint);
        return _array.AsSpan(_count);
    }

    public void Advance(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (_array is null || bytes > _array.Length - _count)
        {
            throw new InvalidOperationException($"Advance({bytes}) goes past the memory GetMemory returned; advance by what was written, at most.");
        }

        _count += bytes;
    }

    /// <summary>Marks the output complete; false when it already was.</summary>
    public bool TryComplete()
    {
        if (_completed)
        {
            return false;
        }

        _completed = true;
        return true;
    }

    /// <summary>Forgets what was written and gives the array back to the pool.</summary>
    public void Release()
    {
        _count = 0;
        if (_array is { } array)
        {
            _array = null;
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    private void Reserve(int sizeHint)
    {
        if (_completed)
        {
            throw new InvalidOperationException("Writing is not allowed after the TLS connection's output was completed.");
        }

        int needed = Math.Max(sizeHint, 1);
        if (_array is null)
        {
            _array = ArrayPool<byte>.Shared.Rent(Math.Max(needed, MinimumSize));
        }
        else if (_array.Length - _count < needed)
        {
            // What was written since the last flush stays contiguous: the SslStream engine sends it as one write.
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_array.Length * 2, _count + needed));
            _array.AsSpan(0, _count).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_array);
            _array = larger;
        }
    }
}
