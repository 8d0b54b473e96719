using System.Buffers;
using System.Runtime.InteropServices;

namespace Fastsock.Memory;

/// <summary>One block of a pinned slab. Disposing it gives it back to the pool of the core that owns it.</summary>
internal sealed class PooledBlock : IMemoryOwner<byte>
{
    private readonly CoreMemoryPool? _pool;

    public PooledBlock(CoreMemoryPool? pool, byte[] slab, int offset)
    {
        _pool = pool;
        Memory = MemoryMarshal.CreateFromPinnedArray(slab, offset, CoreMemoryPool.BlockSize);
    }

    public Memory<byte> Memory { get; }

    /// <summary>Link in the recycle stack while the block waits for its owner.</summary>
    internal PooledBlock? NextRecycled;

    public void Dispose() => _pool?.Return(this);
}
