namespace Fastsock.Samples.Proxy.Balancing;

/// <summary>Two weighted random draws, the less busy one wins (the "power of two choices", as HAProxy's random does).</summary>
internal sealed class RandomBalancer(IReadOnlyList<ServerState> servers, ServerLoad load, int seed) : Balancer(servers, load)
{
    private ulong _state = (ulong)seed * 0x9E3779B97F4A7C15UL + 1;

    public override ServerState? Pick(ulong sourceHash, ulong excluded)
    {
        int total = 0;
        for (int i = 0; i < Servers.Length; i++)
        {
            if (Usable(Servers[i], excluded))
            {
                total += Servers[i].Weight;
            }
        }

        if (total == 0)
        {
            return null;
        }

        var first = Draw(total, excluded);
        var second = Draw(total, excluded);
        return (long)Active[second.Index] * first.Weight < (long)Active[first.Index] * second.Weight ? second : first;
    }

    private ServerState Draw(int totalWeight, ulong excluded)
    {
        // xorshift64*: per-worker state, no shared Random.
        _state ^= _state >> 12;
        _state ^= _state << 25;
        _state ^= _state >> 27;
        int ticket = (int)((_state * 0x2545F4914F6CDD1DUL) % (ulong)totalWeight);
        for (int i = 0; i < Servers.Length; i++)
        {
            if (!Usable(Servers[i], excluded))
            {
                continue;
            }

            ticket -= Servers[i].Weight;
            if (ticket < 0)
            {
                return Servers[i];
            }
        }

        // A server went DOWN (or a slow start moved a weight) between the sum and the draw: take the first usable one.
        for (int i = 0; i < Servers.Length; i++)
        {
            if (Usable(Servers[i], excluded))
            {
                return Servers[i];
            }
        }

        return Servers[0];
    }
}
