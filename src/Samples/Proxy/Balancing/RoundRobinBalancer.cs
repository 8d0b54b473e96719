namespace Fastsock.Samples.Proxy.Balancing;

/// <summary>Smooth weighted round robin (nginx's): weights 5,1,1 give a a b a c a a, not a a a a a b c.</summary>
internal sealed class RoundRobinBalancer(IReadOnlyList<ServerState> servers, ServerLoad load) : Balancer(servers, load)
{
    private readonly int[] _current = new int[servers.Count];

    public override ServerState? Pick(ulong sourceHash, ulong excluded)
    {
        int total = 0;
        int best = -1;
        for (int i = 0; i < Servers.Length; i++)
        {
            if (!Usable(Servers[i], excluded))
            {
                continue;
            }

            _current[i] += Servers[i].Weight;
            total += Servers[i].Weight;
            if (best < 0 || _current[i] > _current[best])
            {
                best = i;
            }
        }

        if (best < 0)
        {
            return null;
        }

        _current[best] -= total;
        return Servers[best];
    }
}
