using System.Net.Security;

namespace Fastsock.Transport.Tls;

/// <summary>
/// The cipher suites counted one by one: the AEAD suites OpenSSL's defaults negotiate for TLS 1.3 and for TLS 1.2
/// with ECDSA or RSA certificates. Anything else is counted as "other", so the stats stay a small fixed table.
/// </summary>
public static class TlsCipherTable
{
    /// <summary>The index of "other", after the named suites.</summary>
    public const int Other = 9;

    /// <summary>The counted suites' IANA names by index; the last is "other".</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "other",
    ];

    /// <summary>The counter index of <paramref name="suite"/>.</summary>
    public static int IndexOf(TlsCipherSuite suite) => suite switch
    {
        TlsCipherSuite.TLS_AES_128_GCM_SHA256 => 0,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384 => 1,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256 => 2,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => 3,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => 4,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => 5,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => 6,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => 7,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => 8,
        _ => Other,
    };
}
