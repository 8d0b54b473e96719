using System.Security.Cryptography.X509Certificates;

namespace Fastsock.Transport.Tls;

/// <summary>
/// What both server engines share to pick a certificate by the client's SNI name: an exact name first, then a
/// wildcard for the name's parent domain (one label, RFC 6125 §6.4.3), then the default. <typeparamref name="T"/> is
/// what an engine builds once per certificate (SslStream's options, OpenSSL's SSL_CTX).
/// </summary>
internal sealed class ServerNameTable<T>
    where T : class
{
    private readonly Dictionary<string, T> _exact = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, T> _wildcard = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, T>.AlternateLookup<ReadOnlySpan<char>> _exactBySpan;
    private readonly Dictionary<string, T>.AlternateLookup<ReadOnlySpan<char>> _wildcardBySpan;

    /// <summary>Builds one <typeparamref name="T"/> per certificate of <paramref name="options"/> with <paramref name="build"/>.</summary>
    /// <exception cref="ArgumentException">No certificate, or one without its private key.</exception>
    public ServerNameTable(TlsServerOptions options, Func<X509Certificate2, T> build)
    {
        if (options.Certificates.Count == 0)
        {
            throw new ArgumentException("TLS server options have no certificate; add one with its private key to TlsServerOptions.Certificates.", nameof(options));
        }

        _exactBySpan = _exact.GetAlternateLookup<ReadOnlySpan<char>>();
        _wildcardBySpan = _wildcard.GetAlternateLookup<ReadOnlySpan<char>>();
        T? fallback = null;
        foreach (var certificate in options.Certificates)
        {
            if (!certificate.HasPrivateKey)
            {
                throw new ArgumentException($"TLS certificate '{certificate.Subject}' has no private key; load it together with its key (X509Certificate2.CreateFromPemFile(cert, key)).", nameof(options));
            }

            var built = build(certificate);
            All.Add(built);
            fallback ??= built;
            if (ReferenceEquals(certificate, options.DefaultCertificate))
            {
                fallback = built;
            }

            foreach (var name in DnsNames(certificate))
            {
                if (name.StartsWith("*.", StringComparison.Ordinal))
                {
                    _wildcard.TryAdd(name[2..].TrimEnd('.'), built);
                }
                else
                {
                    _exact.TryAdd(name.TrimEnd('.'), built);
                }
            }
        }

        if (options.DefaultCertificate is { } chosen && !options.Certificates.Contains(chosen))
        {
            Default = build(chosen);
            All.Add(Default);
        }
        else
        {
            Default = fallback!;
        }
    }

    /// <summary>What serves clients without SNI or with a name no certificate serves.</summary>
    public T Default { get; }

    /// <summary>Everything built, one per certificate.</summary>
    public List<T> All { get; } = [];

    /// <summary>What serves <paramref name="serverName"/>; the default for an empty or unknown name.</summary>
    public T Select(string? serverName) => Select(serverName.AsSpan());

    /// <summary>The same, for a name that is not a string yet (read from a native ClientHello): no allocation.</summary>
    public T Select(ReadOnlySpan<char> serverName)
    {
        var name = serverName.TrimEnd('.');
        if (name.IsEmpty)
        {
            return Default;
        }

        if (_exactBySpan.TryGetValue(name, out var exact))
        {
            return exact;
        }

        int dot = name.IndexOf('.');
        return dot > 0 && _wildcardBySpan.TryGetValue(name[(dot + 1)..], out var wildcard) ? wildcard : Default;
    }

    /// <summary>The DNS names a certificate serves: its subject alternative names, or its common name when it has none.</summary>
    public static List<string> DnsNames(X509Certificate2 certificate)
    {
        var names = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                names.AddRange(san.EnumerateDnsNames());
            }
        }

        if (names.Count == 0 && certificate.GetNameInfo(X509NameType.DnsName, forIssuer: false) is { Length: > 0 } commonName)
        {
            names.Add(commonName);
        }

        return names;
    }
}
