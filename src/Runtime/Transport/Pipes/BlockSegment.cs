using System.Buffers;
using Fastsock.Memory;

namespace Fastsock.Transport.Pipes;

/// <summary>
/// One block of a <see cref="WorkerPipe"/>'s buffer, linked into the sequences the reader sees. The block comes from
/// the worker's <see cref="CoreMemoryPool"/> (or, for a rare size hint above a block, from the shared array pool) and
/// goes back the moment the reader has consumed it. Segment objects are kept on a per-thread free list: each worker
/// reuses its own, so a steady connection allocates none.
/// </summary>
internal sealed class BlockSegment : ReadOnlySequenceSegment<byte>
{
    private const int MaxFreePerThread = 4096;

    [ThreadStatic]
    private static BlockSegment? t_free;

    [ThreadStatic]
    private static int t_freeCount;

    private PooledBlock? _block;
    private byte[]? _oversized;
    private Memory<byte> _storage;
    private BlockSegment? _nextFree;

    /// <summary>Bytes the writer committed (Advance) into this block.</summary>
    public int End { get; private set; }

    public int Capacity => _storage.Length;

    public int Writable => _storage.Length - End;

    public BlockSegment? NextSegment => (BlockSegment?)Next;

    /// <summary>The room left in the block, for the writer.</summary>
    public Memory<byte> WritableMemory => _storage[End..];

    public static BlockSegment Rent(CoreMemoryPool pool, int sizeHint, long runningIndex)
    {
        var segment = t_free;
        if (segment is null)
        {
            segment = new BlockSegment();
        }
        else
        {
            t_free = segment._nextFree;
            segment._nextFree = null;
            t_freeCount--;
        }

        if (sizeHint <= CoreMemoryPool.BlockSize)
        {
            segment._block = pool.RentBlock();
            segment._storage = segment._block.Memory;
        }
        else
        {
            segment._oversized = ArrayPool<byte>.Shared.Rent(sizeHint);
            segment._storage = segment._oversized;
        }

        segment.RunningIndex = runningIndex;
        return segment;
    }

    public void Commit(int bytes)
    {
        End += bytes;
        Memory = _storage[..End];
    }

    public void Link(BlockSegment next) => Next = next;

    /// <summary>Gives the block back to its pool and the segment to this thread's free list.</summary>
    public void Release()
    {
        _block?.Dispose();
        _block = null;
        if (_oversized is { } array)
        {
            ArrayPool<byte>.Shared.Return(array);
            _oversized = null;
        }

        _storage = default;
        Memory = default;
        Next = null;
        RunningIndex = 0;
        End = 0;
        if (t_freeCount < MaxFreePerThread)
        {
            _nextFree = t_free;
            t_free = this;
            t_freeCount++;
        }
    }
}
