using System.Net;
using DnsClient;
using DnsClient.Protocol;
using Fastsock.Samples.Proxy.Config;

namespace Fastsock.Samples.Proxy.Discovery;

/// <summary>
/// Asks the configured nameservers (DnsClient) what a <c>dns:</c> or <c>srv:</c> name stands for. No cache: each
/// resolution asks again, so the resolve interval, not a TTL, says how soon a change is followed.
/// </summary>
internal sealed class DnsLookup
{
    private const int MaxSrvWeight = 256;

    private readonly LookupClient _client;

    public DnsLookup(IReadOnlyList<IPEndPoint> nameservers, ResolverSettings settings)
    {
        Nameservers = nameservers;
        _client = new LookupClient(new LookupClientOptions([.. nameservers])
        {
            Timeout = settings.Timeout,
            Retries = settings.Retries,
            UseCache = false,
            ThrowDnsErrors = false,
            ContinueOnDnsError = true,
            UseTcpFallback = true,
            UseRandomNameServer = false,
        });
    }

    public IReadOnlyList<IPEndPoint> Nameservers { get; }

    public async Task<DnsAnswer> ResolveAsync(DnsServerQuery query, CancellationToken cancel)
    {
        try
        {
            return query.Kind == DnsQueryKind.Address
                ? await AddressesAsync(query.Name, query.Port, weight: 0, cancel).ConfigureAwait(false)
                : await ServiceAsync(query.Name, cancel).ConfigureAwait(false);
        }
        catch (DnsResponseException ex)
        {
            return DnsAnswer.Failed(ex.Code == DnsResponseCode.ConnectionTimeout ? "no answer (timeout)" : ex.Message);
        }
    }

    /// <summary>The A and AAAA records of <paramref name="name"/>, each a server on <paramref name="port"/>.</summary>
    private async Task<DnsAnswer> AddressesAsync(string name, int port, int weight, CancellationToken cancel)
    {
        var v4 = _client.QueryAsync(name, QueryType.A, QueryClass.IN, cancel);
        var v6 = _client.QueryAsync(name, QueryType.AAAA, QueryClass.IN, cancel);
        var servers = new List<ResolvedServer>();
        // Both families must answer: half an answer would drop the other family's servers until the next resolution.
        foreach (var response in new[] { await v4.ConfigureAwait(false), await v6.ConfigureAwait(false) })
        {
            if (FailureOf(response) is { } failure)
            {
                return DnsAnswer.Failed(failure);
            }

            foreach (var record in response.Answers)
            {
                if (record is AddressRecord address)
                {
                    servers.Add(new ResolvedServer(new IPEndPoint(address.Address, port), weight));
                }
            }
        }

        return DnsAnswer.Of(servers);
    }

    /// <summary>
    /// The targets of the SRV records with the lowest priority (RFC 2782: the others are for when those fail), their
    /// addresses from the answer's additional section or, when it has none for a target, asked for.
    /// </summary>
    private async Task<DnsAnswer> ServiceAsync(string name, CancellationToken cancel)
    {
        var response = await _client.QueryAsync(name, QueryType.SRV, QueryClass.IN, cancel).ConfigureAwait(false);
        if (FailureOf(response) is { } failure)
        {
            return DnsAnswer.Failed(failure);
        }

        var records = new List<SrvRecord>();
        foreach (var record in response.Answers)
        {
            if (record is SrvRecord srv && (records.Count == 0 || srv.Priority <= records[0].Priority))
            {
                if (records.Count > 0 && srv.Priority < records[0].Priority)
                {
                    records.Clear();
                }

                records.Add(srv);
            }
        }

        var servers = new List<ResolvedServer>();
        foreach (var srv in records)
        {
            // SRV weight 0 means "rarely", not "never" as a server weight of 0 would.
            int weight = Math.Clamp((int)srv.Weight, 1, MaxSrvWeight);
            bool found = false;
            foreach (var additional in response.Additionals)
            {
                if (additional is AddressRecord address && SameName(additional.DomainName, srv.Target))
                {
                    servers.Add(new ResolvedServer(new IPEndPoint(address.Address, srv.Port), weight));
                    found = true;
                }
            }

            if (!found)
            {
                var target = await AddressesAsync(srv.Target.Value, srv.Port, weight, cancel).ConfigureAwait(false);
                if (!target.Answered)
                {
                    return DnsAnswer.Failed($"{srv.Target.Value}: {target.Failure}");
                }

                servers.AddRange(target.Servers);
            }
        }

        return DnsAnswer.Of(servers);
    }

    /// <summary>Null for an answer (records, or none: NXDOMAIN says the name has nothing); the reason otherwise.</summary>
    private static string? FailureOf(IDnsQueryResponse response)
    {
        var code = response.Header.ResponseCode;
        return code is DnsHeaderResponseCode.NoError or DnsHeaderResponseCode.NotExistentDomain
            ? null
            : $"{response.NameServer}: {code} ({response.ErrorMessage})";
    }

    private static bool SameName(DnsString a, DnsString b) =>
        string.Equals(a.Value.TrimEnd('.'), b.Value.TrimEnd('.'), StringComparison.OrdinalIgnoreCase);
}
