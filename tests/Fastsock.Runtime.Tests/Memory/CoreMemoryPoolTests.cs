using Fastsock.Memory;

namespace Fastsock.Tests.Memory;

public sealed class CoreMemoryPoolTests
{
    [Fact]
    public void A_block_returned_on_the_owner_thread_is_the_next_one_rented()
    {
        using var pool = new CoreMemoryPool(Environment.CurrentManagedThreadId);
        var block = pool.Rent();
        var memory = block.Memory;
        block.Dispose();
        using var again = pool.Rent();
        Assert.Same(block, again);
        Assert.True(memory.Span == again.Memory.Span);
        Assert.Equal(1, pool.Slabs);
    }

    [Fact]
    public void The_blocks_of_a_slab_start_in_as_many_different_cache_sets_as_there_are_blocks()
    {
        // 4 KiB apart, every block's first line would fall in the same L1 set (the set index is address bits 6-11).
        using var pool = new CoreMemoryPool(Environment.CurrentManagedThreadId);
        var blocks = Enumerable.Range(0, 32).Select(_ => pool.Rent()).ToList(); // the whole first slab
        Assert.Equal(1, pool.Slabs);
        var sets = new HashSet<int>();
        byte[]? slab = null;
        foreach (var block in blocks)
        {
            Assert.Equal(CoreMemoryPool.BlockSize, block.Memory.Length);
            Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(block.Memory, out var segment));
            slab ??= segment.Array;
            Assert.Same(slab, segment.Array); // one array: offsets in it differ as the addresses do
            sets.Add((segment.Offset >> 6) & 63);
        }

        Assert.Equal(32, sets.Count);
        blocks.ForEach(b => b.Dispose());
    }

    [Fact]
    public void In_use_counts_rented_blocks_until_they_come_back()
    {
        using var pool = new CoreMemoryPool(Environment.CurrentManagedThreadId);
        var blocks = Enumerable.Range(0, 3).Select(_ => pool.Rent()).ToList();
        Assert.Equal(3, pool.InUse);
        blocks[0].Dispose();
        Assert.Equal(2, pool.InUse);
        blocks[1].Dispose();
        blocks[2].Dispose();
        Assert.Equal(0, pool.InUse);
        Assert.Equal(3, pool.Rented);
    }

    [Fact]
    public void A_block_returned_from_another_thread_is_recycled_by_the_owner()
    {
        using var pool = new CoreMemoryPool(Environment.CurrentManagedThreadId);
        var slab = Enumerable.Range(0, 32).Select(_ => pool.Rent()).ToList(); // the whole first slab
        Assert.Equal(1, pool.Slabs);
        var foreign = slab[5];

        var other = new Thread(foreign.Dispose);
        other.Start();
        Assert.True(other.Join(TimeSpan.FromSeconds(30)));
        Assert.Equal(31, pool.InUse); // counted back while it waits in the recycle stack
        Assert.Equal(0, pool.Recycled);

        using var next = pool.Rent(); // the local stack is empty: the owner drains the recycle stack
        Assert.Same(foreign, next);
        Assert.Equal(1, pool.Recycled);
        Assert.Equal(1, pool.Slabs);
        Assert.Equal(32, pool.InUse);
    }

    [Fact]
    public void A_rent_from_another_thread_does_not_touch_the_owners_blocks()
    {
        using var pool = new CoreMemoryPool(Environment.CurrentManagedThreadId);
        System.Buffers.IMemoryOwner<byte>? rented = null;
        var other = new Thread(() => rented = pool.Rent());
        other.Start();
        Assert.True(other.Join(TimeSpan.FromSeconds(30)));
        Assert.Equal(CoreMemoryPool.BlockSize, rented!.Memory.Length);
        Assert.Equal(0, pool.Rented);
        Assert.Equal(0, pool.Slabs);
    }
}
