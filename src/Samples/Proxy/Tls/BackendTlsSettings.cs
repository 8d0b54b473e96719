using System.Security.Cryptography.X509Certificates;
using Fastsock.Transport.Tls;

namespace Fastsock.Samples.Proxy.Tls;

/// <summary>
/// A server's checked TLS settings and the client options built from them once, shared by every connection to it
/// (so its handshake counts add up in one <see cref="TlsClientStats"/>).
/// </summary>
/// <remarks>
/// Two settings are equal when what they would do is equal: same name asked for, same verification, same timeout and
/// the same CA certificates and client certificate (by content, not by file name). A reload that changes any of it makes the server a new
/// one (see BackendPool's matching), so its pooled connections, made under the old settings, are not reused.
/// </remarks>
internal sealed class BackendTlsSettings : IEquatable<BackendTlsSettings>
{
    private readonly string _rootsKey;
    private readonly string _clientKey;

    public BackendTlsSettings(string targetHost, bool verify, X509Certificate2Collection? roots, string? caFile, TimeSpan handshakeTimeout, X509Certificate2? clientCertificate = null)
    {
        _clientKey = clientCertificate?.Thumbprint ?? "";
        TargetHost = targetHost;
        Verify = verify;
        CaFile = caFile;
        HandshakeTimeout = handshakeTimeout;
        _rootsKey = roots is null ? "" : string.Join(",", roots.Select(r => r.Thumbprint));
        Options = new TlsClientOptions
        {
            TargetHost = targetHost, Verify = verify, TrustedRoots = roots, HandshakeTimeout = handshakeTimeout, ClientCertificate = clientCertificate,
        };
    }

    /// <summary>The name sent as SNI and checked against the certificate.</summary>
    public string TargetHost { get; }

    public bool Verify { get; }

    /// <summary>The CA bundle it trusts (its full path); null: the system store.</summary>
    public string? CaFile { get; }

    public TimeSpan HandshakeTimeout { get; }

    /// <summary>What the runtime's TLS client layer is given for this server; its stats count this server's handshakes.</summary>
    public TlsClientOptions Options { get; }

    public bool Equals(BackendTlsSettings? other) =>
        other is not null && TargetHost == other.TargetHost && Verify == other.Verify && HandshakeTimeout == other.HandshakeTimeout && _rootsKey == other._rootsKey
        && _clientKey == other._clientKey;

    public override bool Equals(object? obj) => Equals(obj as BackendTlsSettings);

    public override int GetHashCode() => HashCode.Combine(TargetHost, Verify, HandshakeTimeout, _rootsKey, _clientKey);

    /// <summary>
    /// The same settings with their own <see cref="TlsClientOptions"/> (so their own counters), for each server a
    /// <c>dns:</c>/<c>srv:</c> name resolves to: one server's handshakes are not shown as another's.
    /// </summary>
    public BackendTlsSettings ForResolvedServer() => new(TargetHost, Verify, Options.TrustedRoots, CaFile, HandshakeTimeout, Options.ClientCertificate);

    public override string ToString() => $"tls sni={TargetHost} verify={(Verify ? "on" : "off")} ca={CaFile ?? "system"}{(_clientKey.Length > 0 ? $" cert={_clientKey}" : "")}";
}
