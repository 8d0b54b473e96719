using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Fastsock.Perf.TlsRecords;

/// <summary>
/// An ECDSA P-256 and an RSA-2048 self-signed certificate for localhost, as PEM files (for libssl) and as
/// X509Certificate2 with their keys (for SslStream), in a temporary directory removed on dispose.
/// </summary>
internal sealed class BenchCertificates : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("tls-handshakes-").FullName;

    public BenchCertificates()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        (Ecdsa, EcdsaPem, EcdsaKeyPem) = Write("ecdsa", new CertificateRequest("CN=localhost", ecdsa, HashAlgorithmName.SHA256), ecdsa.ExportPkcs8PrivateKeyPem());
        using var rsa = RSA.Create(2048);
        (Rsa, RsaPem, RsaKeyPem) = Write("rsa", new CertificateRequest("CN=localhost", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1), rsa.ExportPkcs8PrivateKeyPem());
    }

    public X509Certificate2 Ecdsa { get; }

    public string EcdsaPem { get; }

    public string EcdsaKeyPem { get; }

    public X509Certificate2 Rsa { get; }

    public string RsaPem { get; }

    public string RsaKeyPem { get; }

    private (X509Certificate2 Certificate, string CertificatePath, string KeyPath) Write(string name, CertificateRequest request, string keyPem)
    {
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        using var selfSigned = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        string certificatePath = Path.Combine(_directory, name + ".crt");
        string keyPath = Path.Combine(_directory, name + ".key");
        File.WriteAllText(certificatePath, selfSigned.ExportCertificatePem());
        File.WriteAllText(keyPath, keyPem);

        // Loaded from the files as the proxy loads its frontend certificates.
        return (X509Certificate2.CreateFromPemFile(certificatePath, keyPath), certificatePath, keyPath);
    }

    public void Dispose()
    {
        Ecdsa.Dispose();
        Rsa.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
