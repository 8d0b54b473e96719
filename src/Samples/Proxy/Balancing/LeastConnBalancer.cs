namespace Fastsock.Samples.Proxy.Balancing;

/// <summary>Fewest open connections relative to weight; ties go round the servers so equal ones share the load.</summary>
internal sealed class LeastConnBalancer(IReadOnlyList<ServerState> servers, ServerLoad load) : Balancer(servers, load)
{
    private int _next;

    public override ServerState? Pick(ulong sourceHash, ulong excluded)
    {
        int best = -1;
        int count = Servers.Length;
        for (int k = 0; k < count; k++)
        {
            int i = (_next + k) % count;
            if (!Usable(Servers[i], excluded))
            {
                continue;
            }

            // Compare Active[i]/Weight[i] < Active[best]/Weight[best] without division.
            if (best < 0 || (long)Active[Servers[i].Index] * Servers[best].Weight < (long)Active[Servers[best].Index] * Servers[i].Weight)
            {
                best = i;
            }
        }

        if (best < 0)
        {
            return null;
        }

        _next = (best + 1) % count;
        return Servers[best];
    }
}
