namespace Fastsock.Memory;

/// <summary>
/// Blocks freed by threads other than the owner. Any thread pushes with one compare-and-swap; the owner takes the
/// whole stack at once with an exchange, so there is no ABA problem and no lock.
/// </summary>
internal sealed class RecycleStack
{
    private PooledBlock? _head;
    private int _pending;

    public int PendingCount => Volatile.Read(ref _pending);

    public void Push(PooledBlock block)
    {
        Interlocked.Increment(ref _pending);
        PooledBlock? head;
        do
        {
            head = Volatile.Read(ref _head);
            block.NextRecycled = head;
        }
        while (Interlocked.CompareExchange(ref _head, block, head) != head);
    }

    /// <summary>Takes every pushed block, newest first; null when there are none.</summary>
    public PooledBlock? TakeAll(out int count)
    {
        if (Volatile.Read(ref _head) is null)
        {
            count = 0;
            return null;
        }

        var head = Interlocked.Exchange(ref _head, null);
        count = 0;
        for (var block = head; block is not null; block = block.NextRecycled)
        {
            count++;
        }

        Interlocked.Add(ref _pending, -count);
        return head;
    }
}
