namespace Fastsock.Samples.Proxy.Balancing;

/// <summary>
/// Client-address affinity by weighted rendezvous hashing: each client goes to the server with the highest score
/// for its address, so when a server goes down only its own clients move.
/// </summary>
internal sealed class SourceBalancer(IReadOnlyList<ServerState> servers, ServerLoad load) : Balancer(servers, load)
{
    public override ServerState? Pick(ulong sourceHash, ulong excluded)
    {
        int best = -1;
        double bestScore = double.NegativeInfinity;
        for (int i = 0; i < Servers.Length; i++)
        {
            if (!Usable(Servers[i], excluded))
            {
                continue;
            }

            // A uniform draw in (0,1) from (client, server slot: stable across reloads), turned into a weighted score: -w / ln(u).
            double u = (Mix(sourceHash ^ ((ulong)(Servers[i].Index + 1) * 0x9E3779B97F4A7C15UL)) >> 11) * (1.0 / (1UL << 53));
            double score = -Servers[i].Weight / Math.Log(Math.Max(u, double.Epsilon));
            if (score > bestScore)
            {
                bestScore = score;
                best = i;
            }
        }

        return best < 0 ? null : Servers[best];
    }

    private static ulong Mix(ulong x)
    {
        x ^= x >> 33;
        x *= 0xFF51AFD7ED558CCDUL;
        x ^= x >> 33;
        x *= 0xC4CEB9FE1A85EC53UL;
        x ^= x >> 33;
        return x;
    }
}
