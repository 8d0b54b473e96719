using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Fastsock.Tests.Transport.Tls;

/// <summary>Self-signed certificates made fresh by each test (ECDSA P-256): no private key is ever committed.</summary>
internal static class TestCertificates
{
    /// <summary>A certificate for <paramref name="dnsNames"/> with its private key, valid from an hour ago for <paramref name="validFor"/>.</summary>
    public static X509Certificate2 Create(string commonName, IEnumerable<string> dnsNames, TimeSpan? validFor = null, DateTimeOffset? notBefore = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames)
        {
            san.AddDnsName(name);
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var start = notBefore ?? DateTimeOffset.UtcNow.AddHours(-1);
        return request.CreateSelfSigned(start, start + (validFor ?? TimeSpan.FromDays(2)));
    }

    /// <summary>Writes <paramref name="certificate"/> and its key as PEM files in <paramref name="directory"/>; returns their paths.</summary>
    public static (string Cert, string Key) WritePem(X509Certificate2 certificate, string directory, string name)
    {
        var cert = Path.Combine(directory, name + ".crt");
        var key = Path.Combine(directory, name + ".key");
        File.WriteAllText(cert, certificate.ExportCertificatePem());
        using var ecdsa = certificate.GetECDsaPrivateKey()!;
        File.WriteAllText(key, ecdsa.ExportPkcs8PrivateKeyPem());
        return (cert, key);
    }
}
