using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Fastsock.Tests.Transport.Tls;

/// <summary>
/// A certificate authority made fresh by a test (ECDSA P-256) and the server certificates it issues: a real chain to
/// verify against, with no private key ever committed.
/// </summary>
internal sealed class TestCertificateAuthority : IDisposable
{
    private readonly ECDsa _key;

    public TestCertificateAuthority(string name = "Fastsock Test CA")
    {
        _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", _key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        Certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(30));
    }

    public X509Certificate2 Certificate { get; }

    /// <summary>The CA alone, as a trust store.</summary>
    public X509Certificate2Collection Roots => [X509CertificateLoader.LoadCertificate(Certificate.RawData)];

    /// <summary>
    /// A server certificate for <paramref name="dnsNames"/> with its private key, valid from <paramref name="notBefore"/>
    /// to <paramref name="notAfter"/>; with <paramref name="client"/>, a client certificate instead (extended key usage
    /// clientAuth, which OpenSSL servers require of a client's certificate).
    /// </summary>
    public X509Certificate2 Issue(string[] dnsNames, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null, bool client = false)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsNames[0]}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames)
        {
            san.AddDnsName(name);
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(client ? "1.3.6.1.5.5.7.3.2" : "1.3.6.1.5.5.7.3.1")], critical: false));
        var from = notBefore ?? DateTimeOffset.UtcNow.AddDays(-1);
        var to = notAfter ?? DateTimeOffset.UtcNow.AddDays(2);
        byte[] serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        using var issued = request.Create(Certificate, from, to, serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>Writes the CA certificate as a PEM file in <paramref name="directory"/>; returns its path.</summary>
    public string WritePem(string directory)
    {
        var path = Path.Combine(directory, "ca.crt");
        File.WriteAllText(path, Certificate.ExportCertificatePem());
        return path;
    }

    public void Dispose()
    {
        Certificate.Dispose();
        _key.Dispose();
    }
}
