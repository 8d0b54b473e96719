using Fastsock.Engine;

namespace Fastsock.Tests.Engine;

public sealed class EpollSlotTableTests
{
    private sealed class Handler : IEpollHandler
    {
        public void OnEpollEvents(uint events)
        {
        }
    }

    [Fact]
    public void A_stale_token_misses_after_its_slot_is_reused()
    {
        var table = new EpollSlotTable();
        var first = new Handler();
        var second = new Handler();
        ulong old = table.Add(first);
        Assert.Same(first, table.Find(old));

        table.Remove(old);
        Assert.Null(table.Find(old));
        ulong reused = table.Add(second);

        Assert.Equal((uint)old, (uint)reused); // same slot index...
        Assert.NotEqual(old, reused);          // ...another generation
        Assert.Null(table.Find(old));
        Assert.Same(second, table.Find(reused));
        table.Remove(old); // a stale removal must not free the new owner's slot
        Assert.Same(second, table.Find(reused));
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void The_table_grows_past_its_first_size_and_keeps_every_handler()
    {
        var table = new EpollSlotTable();
        var handlers = Enumerable.Range(0, 1000).Select(_ => new Handler()).ToArray();
        var tokens = handlers.Select(table.Add).ToArray();
        Assert.Equal(1000, table.Count);
        for (int i = 0; i < handlers.Length; i++)
        {
            Assert.Same(handlers[i], table.Find(tokens[i]));
        }
    }
}
