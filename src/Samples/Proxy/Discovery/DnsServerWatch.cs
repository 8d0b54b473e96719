using System.Net;
using Fastsock.Samples.Proxy.Config;

namespace Fastsock.Samples.Proxy.Discovery;

/// <summary>
/// One <c>dns:</c>/<c>srv:</c> server of a backend: the servers its last good answer gave, and how many resolutions
/// in a row failed since (so a failure streak is logged once, not once per query).
/// </summary>
internal sealed class DnsServerWatch
{
    private DnsAnswer? _lastAnswer;

    /// <param name="previous">The watch this one replaces on a config reload: when it watched the same name, its last
    /// good answer and failure streak carry over, so a reload neither drops nor re-announces servers.</param>
    public DnsServerWatch(DnsServerTemplate template, DnsServerWatch? previous = null)
    {
        Template = template;
        if (previous is not null && previous.Template.Name == template.Name && previous.Template.Query == template.Query)
        {
            if (previous._lastAnswer is { } answer)
            {
                Answer(answer);
            }

            FailuresInARow = previous.FailuresInARow;
        }
    }

    public DnsServerTemplate Template { get; }

    /// <summary>The servers of the last good answer; none before the first.</summary>
    public IReadOnlyList<ServerSettings> Servers { get; private set; } = [];

    /// <summary>Where <see cref="Servers"/> listen, in the same order.</summary>
    public IReadOnlyList<IPEndPoint> Addresses { get; private set; } = [];

    public int FailuresInARow { get; private set; }

    /// <summary>True once a good answer came (here or in the watch this one replaced).</summary>
    public bool HasAnswered => _lastAnswer is not null;

    /// <summary>The name a resolved server goes by: the same while its address stays, so it keeps its pooled connections and health.</summary>
    public static string ServerName(DnsServerTemplate template, ResolvedServer server) => $"{template.Name}@{server.EndPoint}";

    /// <summary>Counts a failed resolution; true when it starts a failure streak (the one to log).</summary>
    public bool Fail() => ++FailuresInARow == 1;

    /// <summary>Takes a good answer. Returns how many resolutions had failed before it, and whether the servers changed.</summary>
    public (int FailedBefore, bool Changed) Answer(DnsAnswer answer)
    {
        int failedBefore = FailuresInARow;
        FailuresInARow = 0;
        _lastAnswer = answer;
        var servers = new List<ServerSettings>(answer.Servers.Count);
        var addresses = new List<IPEndPoint>(answer.Servers.Count);
        foreach (var resolved in answer.Servers)
        {
            int weight = resolved.Weight > 0 ? resolved.Weight : Template.Weight;
            addresses.Add(resolved.EndPoint);
            servers.Add(new ServerSettings(
                ServerName(Template, resolved), new ServerAddress(ServerKind.Tcp, resolved.EndPoint, null), weight, Template.SendProxy, Tls: Template.Tls?.ForResolvedServer()));
        }

        bool changed = !servers.SequenceEqual(Servers);
        Servers = servers;
        Addresses = addresses;
        return (failedBefore, changed);
    }
}
