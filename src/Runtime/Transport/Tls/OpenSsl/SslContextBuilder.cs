using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Fastsock.Transport.Tls.OpenSsl;

/// <summary>
/// Builds one server <c>SSL_CTX</c> for one certificate: TLS_server_method, the layer's protocol range, the certificate
/// (DER through d2i_X509) with the chain .NET builds for it, its private key (PKCS#8 through d2i_AutoPrivateKey, the
/// exported bytes zeroed after), server cipher preference, no renegotiation, no compression, released idle buffers, and the session id
/// context every context of a layer shares (a session made under one certificate's context is looked up in the first).
/// OpenSSL resumes a session (ticket or id) only under the session id context it was made under and checks nothing of
/// the certificate, so the context is derived from the layer's <see cref="TlsServerOptions.SessionScope"/> alone: the
/// same in a layer rebuilt with other certificates and in a successor process.
/// </summary>
internal static unsafe class SslContextBuilder
{
    private const string DefaultScope = "fastsock-tls";

    /// <summary>The session id context of <paramref name="scope"/>: SHA-256 of its UTF-8 (32 B, SSL_MAX_SID_CTX_LENGTH).</summary>
    public static byte[] SessionIdContext(string? scope)
    {
        var context = SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(scope ?? DefaultScope));
        System.Diagnostics.Debug.Assert(context.Length == LibSsl.MaxSessionIdContextLength);
        return context;
    }

    public static SslContextHandle Build(X509Certificate2 certificate, SslProtocols protocols, byte[] sessionIdContext)
    {
        var context = new SslContextHandle(Check(LibSsl.ContextNew(LibSsl.TlsServerMethod()), "SSL_CTX_new(TLS_server_method)"));
        try
        {
            IntPtr ctx = context.DangerousGetHandle();
            var (min, max) = VersionRange(protocols);
            Check(LibSsl.ContextCtrl(ctx, LibSsl.CtrlSetMinProtocolVersion, min, IntPtr.Zero) == 1, "SSL_CTX_set_min_proto_version");
            Check(LibSsl.ContextCtrl(ctx, LibSsl.CtrlSetMaxProtocolVersion, max, IntPtr.Zero) == 1, "SSL_CTX_set_max_proto_version");
            LibSsl.ContextSetOptions(ctx, LibSsl.OptionCipherServerPreference | LibSsl.OptionNoRenegotiation | LibSsl.OptionNoCompression);

            // Idle connections give OpenSSL's record buffers back: 23.7 KB of proxy RSS per idle TLS connection instead
            // of 32.9 KB (2,000 idle connections, perf/results/tls.md §8). HAProxy sets it too.
            LibSsl.ContextCtrl(ctx, LibSsl.CtrlMode, LibSsl.ModeReleaseBuffers, IntPtr.Zero);
            fixed (byte* id = sessionIdContext)
            {
                Check(LibSsl.ContextSetSessionIdContext(ctx, id, (uint)sessionIdContext.Length) == 1, "SSL_CTX_set_session_id_context");
            }

            UseCertificate(ctx, certificate);
            UseChain(ctx, certificate);
            UsePrivateKey(ctx, certificate);
            return context;
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    private static (int Min, int Max) VersionRange(SslProtocols protocols)
    {
        bool tls12 = protocols == SslProtocols.None || (protocols & SslProtocols.Tls12) != 0;
        bool tls13 = protocols == SslProtocols.None || (protocols & SslProtocols.Tls13) != 0;
        if (!tls12 && !tls13)
        {
            throw new ArgumentException($"TLS protocols '{protocols}' include neither TLS 1.2 nor TLS 1.3, the only ones the OpenSSL engine serves; set TlsServerOptions.EnabledProtocols to Tls12, Tls13 or both.");
        }

        return (tls12 ? LibSsl.Tls12Version : LibSsl.Tls13Version, tls13 ? LibSsl.Tls13Version : LibSsl.Tls12Version);
    }

    private static void UseCertificate(IntPtr ctx, X509Certificate2 certificate)
    {
        IntPtr x509 = Decode(certificate);
        try
        {
            LibCrypto.ErrorClear();
            Check(LibSsl.ContextUseCertificate(ctx, x509) == 1, $"SSL_CTX_use_certificate('{certificate.Subject}')");
        }
        finally
        {
            LibCrypto.X509Free(x509);
        }
    }

    /// <summary>The intermediates .NET finds for the certificate (as SslStreamCertificateContext sends them), not the root.</summary>
    private static void UseChain(IntPtr ctx, X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.AllFlags;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.Build(certificate);
        for (int i = 1; i < chain.ChainElements.Count; i++)
        {
            var element = chain.ChainElements[i].Certificate;
            if (element.SubjectName.RawData.AsSpan().SequenceEqual(element.IssuerName.RawData))
            {
                continue; // a root: the client has it or does not trust it anyway.
            }

            IntPtr x509 = Decode(element);
            try
            {
                LibCrypto.ErrorClear();
                Check(LibSsl.ContextCtrl(ctx, LibSsl.CtrlChainCertificate, 1, x509) == 1, $"SSL_CTX_add1_chain_cert('{element.Subject}')");
            }
            finally
            {
                LibCrypto.X509Free(x509);
            }
        }

        foreach (var element in chain.ChainElements)
        {
            if (!ReferenceEquals(element.Certificate, certificate))
            {
                element.Certificate.Dispose();
            }
        }
    }

    private static void UsePrivateKey(IntPtr ctx, X509Certificate2 certificate)
    {
        byte[] pkcs8 = ExportKey(certificate);
        try
        {
            IntPtr key;
            fixed (byte* der = pkcs8)
            {
                byte* at = der;
                LibCrypto.ErrorClear();
                key = LibCrypto.DecodePrivateKey(IntPtr.Zero, &at, pkcs8.Length);
            }

            Check(key, $"d2i_AutoPrivateKey('{certificate.Subject}')");
            try
            {
                LibCrypto.ErrorClear();
                Check(LibSsl.ContextUsePrivateKey(ctx, key) == 1, $"SSL_CTX_use_PrivateKey('{certificate.Subject}')");
                Check(LibSsl.ContextCheckPrivateKey(ctx) == 1, $"SSL_CTX_check_private_key('{certificate.Subject}')");
            }
            finally
            {
                LibCrypto.KeyFree(key);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    private static byte[] ExportKey(X509Certificate2 certificate)
    {
        using var ecdsa = certificate.GetECDsaPrivateKey();
        if (ecdsa is not null)
        {
            return ecdsa.ExportPkcs8PrivateKey();
        }

        using var rsa = certificate.GetRSAPrivateKey();
        if (rsa is not null)
        {
            return rsa.ExportPkcs8PrivateKey();
        }

        throw new ArgumentException($"TLS certificate '{certificate.Subject}' has a key that is neither ECDSA nor RSA, which the OpenSSL engine cannot load; use an ECDSA or RSA certificate or set TlsServerOptions.Engine to SslStream.");
    }

    private static IntPtr Decode(X509Certificate2 certificate)
    {
        var der = certificate.RawData;
        fixed (byte* bytes = der)
        {
            byte* at = bytes;
            LibCrypto.ErrorClear();
            return Check(LibCrypto.DecodeX509(IntPtr.Zero, &at, der.Length), $"d2i_X509('{certificate.Subject}')");
        }
    }

    private static IntPtr Check(IntPtr result, string call)
    {
        Check(result != IntPtr.Zero, call);
        return result;
    }

    private static void Check(bool succeeded, string call)
    {
        if (!succeeded)
        {
            throw new InvalidOperationException($"OpenSSL {call} failed: {LibCrypto.LastErrorText()}; check the certificate and key, or set TlsServerOptions.Engine to SslStream.");
        }
    }
}
