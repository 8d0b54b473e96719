using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Fastsock.Transport.Tls;

/// <summary>
/// Checks one server certificate for one handshake and keeps why it was refused, so the failure can say "expired" or
/// "name mismatch" instead of SslStream's generic "remote certificate is invalid".
/// </summary>
internal sealed class ServerCertificateCheck(TlsClientOptions options)
{
    public TlsClientFailureReason? Reason { get; private set; }

    public string? Detail { get; private set; }

    /// <summary>The chain SslStream builds: the given roots only, or the system store; no revocation fetch (no network).</summary>
    public X509ChainPolicy? ChainPolicy()
    {
        if (!options.Verify || options.TrustedRoots is not { } roots)
        {
            return null;
        }

        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.AddRange(roots);
        return policy;
    }

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (!options.Verify || errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (certificate is not X509Certificate2 leaf || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return Refuse(TlsClientFailureReason.HandshakeError, "the server sent no certificate");
        }

        if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            var flags = X509ChainStatusFlags.NoError;
            foreach (var status in chain?.ChainStatus ?? [])
            {
                flags |= status.Status;
            }

            var now = DateTime.UtcNow;
            if ((flags & X509ChainStatusFlags.NotTimeValid) != 0)
            {
                return leaf.NotAfter.ToUniversalTime() < now
                    ? Refuse(TlsClientFailureReason.Expired, $"expired: certificate of {Names(leaf)} expired on {leaf.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC; renew it on the server")
                    : Refuse(TlsClientFailureReason.Expired, $"expired or not yet valid: a certificate in the chain of {Names(leaf)} is not valid now; renew it on the server or check the clock");
            }

            return Refuse(TlsClientFailureReason.UntrustedRoot,
                $"untrusted root: certificate of {Names(leaf)} issued by '{leaf.Issuer}' does not chain to a trusted CA ({flags}); give its CA (caFile) or fix the server's chain");
        }

        return (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0
            ? Refuse(TlsClientFailureReason.NameMismatch,
                $"certificate name mismatch: expected {options.TargetHost}, got {Names(leaf)}; ask for a name the certificate holds (sni) or fix the server's certificate")
            : Refuse(TlsClientFailureReason.HandshakeError, $"certificate refused ({errors})");
    }

    private bool Refuse(TlsClientFailureReason reason, string detail)
    {
        Reason = reason;
        Detail = detail;
        return false;
    }

    /// <summary>The DNS names of the certificate's subject alternative names, else its common name.</summary>
    private static string Names(X509Certificate2 certificate)
    {
        var names = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                try
                {
                    names.AddRange(san.EnumerateDnsNames());
                }
                catch (CryptographicException)
                {
                    // A malformed extension: the refusal being reported matters more than the names in it.
                    names.Add("(malformed subject alternative names)");
                }
            }
        }

        return names.Count > 0 ? string.Join(",", names) : certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
    }
}
