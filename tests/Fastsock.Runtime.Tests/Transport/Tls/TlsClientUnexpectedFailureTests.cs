using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using Fastsock.Transport.Tls;

namespace Fastsock.Tests.Transport.Tls;

/// <summary>
/// A certificate whose subject alternative name extension is not valid DER: reading its names while explaining the
/// refusal threw a CryptographicException out of the check (it escaped as an unexpected failure). It must be refused
/// for what it is (an untrusted root here), counted, and the connection released. The peer is a real TLS server
/// (SslStream on a loopback socket).
/// </summary>
public sealed class TlsClientUnexpectedFailureTests
{
    [Fact]
    public async Task A_certificate_with_malformed_names_is_refused_for_its_real_reason_counted_and_its_connection_closed()
    {
        using var certificate = SelfSignedWithMalformedSubjectAlternativeName();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var backendSawClose = ServeOneHandshakeAsync(listener, certificate);

        // A handshake timeout far beyond the test's wait: only the failure path itself can close the connection.
        var clientOptions = new TlsClientOptions { TargetHost = "backend.test", HandshakeTimeout = TimeSpan.FromMinutes(10) };
        using var trusted = new TestCertificateAuthority();
        clientOptions.TrustedRoots = trusted.Roots;
        await using var relay = await TestServers.StartAsync(async connection =>
        {
            var raw = await FastsockConnector.ConnectAsync(listener.LocalEndpoint);
            string answer;
            try
            {
                var tls = await TlsLayer.ClientAsync(raw, clientOptions);
                tls.Transport.Input.Complete();
                tls.Transport.Output.Complete();
                answer = "handshake completed";
            }
            catch (TlsHandshakeException ex)
            {
                answer = $"{ex.Reason}: {ex.Message}";
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                answer = $"escaped as {ex.GetType().Name}: {ex.Message}";
            }

            await connection.Transport.Output.WriteAsync(Encoding.UTF8.GetBytes(answer + "\n"));
        }, o => o.Cores = CoreSets.First);

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(relay.EndPoints[0]).WaitAsync(Clients.Timeout);
        var answer = Encoding.UTF8.GetString(await Clients.ReadToEndAsync(client).WaitAsync(Clients.Timeout));

        Assert.StartsWith("UntrustedRoot: TLS to backend.test (127.0.0.1:", answer, StringComparison.Ordinal);
        Assert.Contains("(malformed subject alternative names)", answer, StringComparison.Ordinal);
        Assert.True(await Eventually.HoldsAsync(() => clientOptions.Stats.Snapshot().Closed == 1), $"the failed connection was not closed under the layer: {clientOptions.Stats.Snapshot()}");
        var stats = clientOptions.Stats.Snapshot();
        Assert.Equal((0L, 1L, 1L), (stats.Handshakes, stats.Failures, stats.FailuresOf(TlsClientFailureReason.UntrustedRoot)));

        // The server sees the connection end long before the handshake timeout could have closed it.
        await backendSawClose.WaitAsync(Clients.Timeout);
    }

    /// <summary>Accepts one connection, answers its handshake and completes when the client has closed the connection.</summary>
    private static async Task ServeOneHandshakeAsync(TcpListener listener, X509Certificate2 certificate)
    {
        using var socket = await listener.AcceptSocketAsync();
        await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
        try
        {
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate });
            var buffer = new byte[256];
            while (await ssl.ReadAsync(buffer) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException)
        {
            // The client gave up on the handshake and closed or reset the connection: what this peer waits for.
        }
    }

    private static X509Certificate2 SelfSignedWithMalformedSubjectAlternativeName()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=backend.test", key, HashAlgorithmName.SHA256);

        // 2.5.29.17 (subjectAltName) whose value is an OCTET STRING where a SEQUENCE of GeneralName belongs.
        request.CertificateExtensions.Add(new X509Extension("2.5.29.17", [0x04, 0x01, 0x00], critical: false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var issued = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));

        // Through PKCS#12 so the private key is usable by the server side of SslStream on Linux.
        return X509CertificateLoader.LoadPkcs12(issued.Export(X509ContentType.Pkcs12), null);
    }
}
