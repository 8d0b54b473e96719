using System.Globalization;
using System.Net;

namespace Fastsock.Samples.Proxy.Config;

// The checks of servers found through DNS (dns:NAME:PORT, srv:_service._proto.NAME) and of the resolvers section.
internal static partial class ConfigValidator
{
    private static readonly TimeSpan MaxResolverTimeout = TimeSpan.FromSeconds(30);

    private static DnsServerTemplate DnsServer(Checker check, string key, ServerConfig server, string name, TimeSpan backendInterval)
    {
        var query = DnsQuery(check, $"{key}.address", server.Address!);
        if (query.Kind == DnsQueryKind.Service && server.Weight is not null)
        {
            throw check.Error($"{key}.weight", "an srv: server takes its weights from the SRV records; remove weight");
        }

        if (server.LocalFastPath is not null)
        {
            throw check.Error($"{key}.localFastPath", "not for a dns: or srv: server (one socket path cannot stand for every address the name resolves to); remove it");
        }

        int weight = check.Range($"{key}.weight", server.Weight ?? 1, 0, 256);
        var sendProxy = check.OneOf($"{key}.sendProxy", server.SendProxy ?? "none", ("none", ProxyHeaderMode.None), ("v1", ProxyHeaderMode.V1), ("v2", ProxyHeaderMode.V2));
        var interval = server.ResolveInterval is null ? backendInterval : ResolveInterval(check, $"{key}.resolveInterval", server.ResolveInterval);
        var template = new DnsServerTemplate(name, query, weight, sendProxy, interval);
        return server.Tls is null ? template
            : template with { Tls = Tls.BackendTlsFiles.LoadForName(check.Source, $"{key}.tls", server.Tls, template.ServiceName) };
    }

    private static DnsServerQuery DnsQuery(Checker check, string key, string text)
    {
        if (text.StartsWith(DnsServerQuery.ServicePrefix, StringComparison.Ordinal))
        {
            var service = text[DnsServerQuery.ServicePrefix.Length..].TrimEnd('.');
            var labels = service.Split('.');
            if (!IsDnsName(service) || labels.Length < 3 || !labels[0].StartsWith('_') || !labels[1].StartsWith('_'))
            {
                throw check.Error(key, $"'{text}' is not an SRV name; write srv:_service._proto.NAME, e.g. srv:_http._tcp.app.example");
            }

            return new DnsServerQuery(DnsQueryKind.Service, service, 0);
        }

        var rest = text[DnsServerQuery.AddressPrefix.Length..];
        int colon = rest.LastIndexOf(':');
        if (colon <= 0
            || !int.TryParse(rest.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port)
            || port is < 1 or > 65535)
        {
            throw check.Error(key, $"'{text}' needs a name and a port from 1 to 65535; write dns:NAME:PORT, e.g. dns:app.example:8080");
        }

        var name = rest[..colon].TrimEnd('.');
        if (IPAddress.TryParse(name.Trim('[', ']'), out _))
        {
            throw check.Error(key, $"'{text}' names an IP address, not a DNS name; write it without dns:, as {rest}");
        }

        if (!IsDnsName(name))
        {
            throw check.Error(key, $"'{name}' in '{text}' is not a DNS name (labels of letters, digits, '-' and '_', at most 63 characters each)");
        }

        return new DnsServerQuery(DnsQueryKind.Address, name, port);
    }

    private static bool IsDnsName(string name)
    {
        if (name.Length is 0 or > 253)
        {
            return false;
        }

        foreach (var label in name.Split('.'))
        {
            if (label.Length is 0 or > 63)
            {
                return false;
            }

            foreach (char c in label)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_')
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static TimeSpan ResolveInterval(Checker check, string key, string? text)
    {
        if (text is null)
        {
            return DnsServerTemplate.DefaultResolveInterval;
        }

        var interval = check.Duration(key, text, "10s");
        return interval >= DnsServerTemplate.MinResolveInterval && interval <= DnsServerTemplate.MaxResolveInterval ? interval
            : throw check.Error(key, $"'{text}' is out of range; use 100ms to 1h (the default is 10s)");
    }

    private static void RejectResolveInterval(Checker check, string key, string? text, string why)
    {
        if (text is not null)
        {
            throw check.Error(key, $"'{text}' has nothing to resolve: {why}; remove resolveInterval or use a dns:NAME:PORT or srv:_service._proto.NAME address");
        }
    }

    private static ResolverSettings? Resolvers(Checker check, ResolversConfig? config)
    {
        if (config is null)
        {
            return null;
        }

        var nameservers = new List<IPEndPoint>();
        for (int i = 0; i < config.Nameservers.Count; i++)
        {
            var text = config.Nameservers[i];
            if (!IPEndPoint.TryParse(text?.Trim() ?? "", out var endPoint))
            {
                throw check.Error($"resolvers.nameservers[{i}]", $"'{text}' is not an IP address with an optional port; write it like 127.0.0.1, 127.0.0.1:5353 or [::1]:53");
            }

            nameservers.Add(endPoint.Port == 0 ? new IPEndPoint(endPoint.Address, 53) : endPoint);
        }

        var timeout = check.Duration("resolvers.timeout", config.Timeout, "1s");
        if (timeout > MaxResolverTimeout)
        {
            throw check.Error("resolvers.timeout", $"'{config.Timeout}' is out of range; use up to 30s (the default is 1s)");
        }

        int retries = check.Range("resolvers.retries", config.Retries ?? ResolverSettings.Default.Retries, 0, 10);
        return new ResolverSettings(nameservers, timeout, retries);
    }
}
