using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Fastsock.Samples.Proxy.Tls;

namespace Fastsock.Samples.Proxy.Health;

/// <summary>
/// The TLS handshake of a health check to a server with a <c>tls</c> section, with the settings its traffic uses (the
/// name sent as SNI and verified, the trusted roots, verification on or off, the client certificate). The checker runs
/// on the thread pool, away from the workers, so it speaks through <see cref="SslStream"/> over a socket rather than
/// the runtime's worker-bound layer; a refusal is named with the words the traffic's failures use.
/// </summary>
internal static class CheckTls
{
    /// <summary>A stream carrying plaintext after the handshake, or why the handshake failed.</summary>
    public static async Task<(SslStream? Stream, string? Failure)> HandshakeAsync(Stream transport, BackendTlsSettings tls, CancellationToken token)
    {
        var refusal = new Refusal(tls);
        var ssl = new SslStream(transport, leaveInnerStreamOpen: false);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = tls.TargetHost,
            EnabledSslProtocols = tls.Options.EnabledProtocols,
            RemoteCertificateValidationCallback = refusal.Validate,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        if (tls.Verify && tls.Options.TrustedRoots is { } roots)
        {
            options.CertificateChainPolicy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
            options.CertificateChainPolicy.CustomTrustStore.AddRange(roots);
        }

        if (tls.Options.ClientCertificate is { } certificate)
        {
            // Sent whatever CA names the server lists, as the traffic's layer does.
            options.LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate;
        }

        try
        {
            await ssl.AuthenticateAsClientAsync(options, token).ConfigureAwait(false);
            return (ssl, null);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            return (null, refusal.Reason is { } reason
                ? $"TLS handshake failed ({reason}): {refusal.Detail}"
                : $"TLS handshake failed ({(ex is AuthenticationException ? "handshake error" : "closed during handshake")}): {ex.Message}");
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Keeps why the server's certificate was refused, as "untrusted root", "name mismatch" or "expired" with the detail.</summary>
    private sealed class Refusal(BackendTlsSettings tls)
    {
        /// <summary>The reason as the traffic's failures name it (BackendTls.ReasonName).</summary>
        public string? Reason { get; private set; }

        public string? Detail { get; private set; }

        public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            if (!tls.Verify || errors == SslPolicyErrors.None)
            {
                return true;
            }

            if (certificate is not X509Certificate2 leaf || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
            {
                return Refuse("handshake error", "the server sent no certificate");
            }

            if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
            {
                var flags = X509ChainStatusFlags.NoError;
                foreach (var status in chain?.ChainStatus ?? [])
                {
                    flags |= status.Status;
                }

                return (flags & X509ChainStatusFlags.NotTimeValid) != 0
                    ? Refuse("expired", $"a certificate in the chain of '{leaf.Subject}' is not valid now (not after {leaf.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC); renew it on the server")
                    : Refuse("untrusted root", $"'{leaf.Subject}' issued by '{leaf.Issuer}' does not chain to a trusted CA ({flags}); give its CA (caFile)");
            }

            return (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0
                ? Refuse("name mismatch", $"the certificate '{leaf.Subject}' does not hold {tls.TargetHost}; set sni to a name it holds")
                : Refuse("handshake error", $"certificate refused ({errors})");
        }

        private bool Refuse(string reason, string detail)
        {
            Reason = reason;
            Detail = detail;
            return false;
        }
    }
}
