using System.Buffers;

namespace Fastsock.Memory;

/// <summary>
/// A worker's own buffer pool (Fastsocket's per-core skb pool): fixed-size blocks carved out of pinned slabs.
/// Renting and returning on the owner thread touches only owner-local state; a block returned from another
/// thread goes to a lock-free recycle stack that the owner drains when its local stack runs dry.
/// </summary>
internal sealed class CoreMemoryPool : MemoryPool<byte>
{
    public const int BlockSize = 4096;
    private const int BlocksPerSlab = 32;

    // Blocks sit one cache line further apart than their size. At 4 KiB apart every block's first line would map to
    // the same few cache sets (the set index comes from address bits below 4 KiB in L1, and from a few bits above in
    // L2), and most requests and responses live in those first lines: with a thousand connections' blocks in use the
    // sets thrash while the rest of the cache sits empty. Shifting each block by one more line spreads them over 64.
    private const int BlockStride = BlockSize + 64;

    private readonly PooledBlock?[] _emptyStack = [];
    private PooledBlock?[] _local = new PooledBlock?[BlocksPerSlab * 4];
    private int _localCount;
    private readonly RecycleStack _recycled = new();
    private int _ownerThreadId;
    private bool _disposed;

    // Written by the owner thread only; other threads read them for metrics.
    private long _rented;
    private long _returnedLocal;
    private long _slabs;
    private long _recycledCount;

    public CoreMemoryPool(int ownerThreadId = -1) => _ownerThreadId = ownerThreadId;

    public override int MaxBufferSize => BlockSize;

    public long Rented => Volatile.Read(ref _rented);

    public long Recycled => Volatile.Read(ref _recycledCount);

    public long Slabs => Volatile.Read(ref _slabs);

    /// <summary>Blocks rented and not yet given back (approximate when read from another thread).</summary>
    public long InUse => Volatile.Read(ref _rented) - Volatile.Read(ref _returnedLocal) - Volatile.Read(ref _recycledCount) - _recycled.PendingCount;

    /// <summary>Binds the pool to the thread that will own it (the worker thread, once it starts).</summary>
    public void SetOwner(int threadId) => _ownerThreadId = threadId;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize)
        {
            throw new ArgumentOutOfRangeException(nameof(minBufferSize), minBufferSize, $"Blocks are {BlockSize} bytes.");
        }

        return RentBlock();
    }

    /// <summary>
    /// One block, as its own type: the pipes rent and return a block per read and per write, and calls through
    /// <see cref="IMemoryOwner{T}"/> would go through an interface dispatch stub each time.
    /// </summary>
    internal PooledBlock RentBlock()
    {
        if (Environment.CurrentManagedThreadId != _ownerThreadId)
        {
            // Not the owner: a private block keeps the owner's stack single-threaded. Rare (setup, tests).
            return new PooledBlock(null, GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true), 0);
        }

        _rented++;
        if (_localCount == 0)
        {
            Refill();
        }

        var block = _local[--_localCount]!;
        _local[_localCount] = null;
        return block;
    }

    internal void Return(PooledBlock block)
    {
        if (_disposed)
        {
            return;
        }

        if (Environment.CurrentManagedThreadId == _ownerThreadId)
        {
            _returnedLocal++;
            Push(block);
        }
        else
        {
            _recycled.Push(block);
        }
    }

    private void Refill()
    {
        var recycled = _recycled.TakeAll(out int count);
        if (recycled is not null)
        {
            _recycledCount += count;
            for (var block = recycled; block is not null;)
            {
                var next = block.NextRecycled;
                block.NextRecycled = null;
                Push(block);
                block = next;
            }

            return;
        }

        var slab = GC.AllocateUninitializedArray<byte>(BlockStride * BlocksPerSlab, pinned: true);
        for (int i = BlocksPerSlab - 1; i >= 0; i--)
        {
            Push(new PooledBlock(this, slab, i * BlockStride));
        }

        _slabs++;
    }

    private void Push(PooledBlock block)
    {
        if (_localCount == _local.Length)
        {
            Array.Resize(ref _local, _local.Length * 2);
        }

        _local[_localCount++] = block;
    }

    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        _local = _emptyStack;
        _localCount = 0;
    }
}
