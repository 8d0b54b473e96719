namespace Fastsock.Engine;

/// <summary>
/// Fastsocket's "epoll entry cached in the file", from user space: every fd registered with a worker gets a slot,
/// and the epoll event data carries the slot index and a generation. An event finds its handler with one array
/// index, no dictionary; the generation makes an event for an fd that was closed earlier in the same batch harmless.
/// Owner-thread only.
/// </summary>
internal sealed class EpollSlotTable
{
    private IEpollHandler?[] _handlers = new IEpollHandler?[256];
    private uint[] _generations = new uint[256];
    private int[] _free = new int[256];
    private int _freeCount;
    private int _used;

    public int Count { get; private set; }

    /// <summary>Reserves a slot for <paramref name="handler"/> and returns the value to put in the epoll event data.</summary>
    public ulong Add(IEpollHandler handler)
    {
        int slot;
        if (_freeCount > 0)
        {
            slot = _free[--_freeCount];
        }
        else
        {
            if (_used == _handlers.Length)
            {
                Grow();
            }

            slot = _used++;
        }

        _handlers[slot] = handler;
        Count++;
        return ((ulong)_generations[slot] << 32) | (uint)slot;
    }

    public void Remove(ulong token)
    {
        int slot = (int)(uint)token;
        if (_generations[slot] != (uint)(token >> 32) || _handlers[slot] is null)
        {
            return;
        }

        _handlers[slot] = null;
        _generations[slot]++;
        _free[_freeCount++] = slot;
        Count--;
    }

    /// <summary>The handler for an event's data, or null when the slot was freed or reused since.</summary>
    public IEpollHandler? Find(ulong token)
    {
        uint slot = (uint)token;
        var handlers = _handlers;
        return slot < (uint)handlers.Length && _generations[slot] == (uint)(token >> 32) ? handlers[slot] : null;
    }

    /// <summary>Every live handler, for shutdown.</summary>
    public void CopyTo(List<IEpollHandler> target)
    {
        for (int i = 0; i < _used; i++)
        {
            if (_handlers[i] is { } handler)
            {
                target.Add(handler);
            }
        }
    }

    private void Grow()
    {
        int size = _handlers.Length * 2;
        Array.Resize(ref _handlers, size);
        Array.Resize(ref _generations, size);
        Array.Resize(ref _free, size);
    }
}
