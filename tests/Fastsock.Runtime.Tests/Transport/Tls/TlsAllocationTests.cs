using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport.Tls;
using Xunit.Abstractions;

namespace Fastsock.Tests.Transport.Tls;

/// <summary>
/// After the handshake a TLS connection's keep-alive exchanges sit on the per-request path: decrypting a request and
/// encrypting its answer on the worker must not allocate per request.
/// </summary>
[Trait("Category", "Slow")] // real sockets and a long ping-pong: skip with --filter Category!=Slow
public sealed class TlsAllocationTests(ITestOutputHelper output)
{
    private const int WarmUp = 4_000;
    private const int Requests = 2_000;

    private static readonly X509Certificate2 Certificate = TestCertificates.Create("alloc.test", ["alloc.test"]);

    private static readonly byte[] Request = System.Text.Encoding.ASCII.GetBytes(
        "GET /plaintext HTTP/1.1\r\nHost: alloc.test\r\nUser-Agent: test\r\nAccept: */*\r\n\r\n");

    [Theory]
    [InlineData(TlsServerEngine.OpenSsl, SslProtocols.Tls12)]
    [InlineData(TlsServerEngine.OpenSsl, SslProtocols.Tls13)]
    [InlineData(TlsServerEngine.SslStream, SslProtocols.Tls12)]
    [InlineData(TlsServerEngine.SslStream, SslProtocols.Tls13)]
    public async Task Keep_alive_exchanges_over_tls_allocate_nothing_per_request_on_the_worker(TlsServerEngine engine, SslProtocols protocol)
    {
        var options = new TlsServerOptions { Engine = engine, DefaultCertificate = Certificate };
        options.Certificates.Add(Certificate);
        await using var server = await TestServers.StartAsync(TlsLayer.Server(options, TestServers.Echo), o => o.Cores = CpuSet.Parse(CoreSets.FirstText));
        await using var client = await TlsTestClient.ConnectAsync(server.EndPoints[0], "alloc.test", protocol);
        var worker = server.WorkerList[0];
        var response = new byte[Request.Length];

        await ExchangeAsync(client, response, WarmUp);
        var excess = await WorkerAllocationWindows.MeasureAsync(worker, () => ExchangeAsync(client, response, Requests), Requests, $"{Requests} requests", output);

        // Under one byte per request in some window: one object per request (≥ 24 B) would show in every window, a
        // one-off (tiering, a pool reaching its working set) in one at most.
        Assert.True(
            excess.Exists(bytes => bytes < Requests),
            $"Every window allocated at least one byte per request ({Requests} requests over {protocol}, {engine} engine) on the TLS worker: {string.Join(", ", excess)} B.");
    }

    private static async Task ExchangeAsync(TlsTestClient client, byte[] response, int count)
    {
        for (int i = 0; i < count; i++)
        {
            await client.Ssl.WriteAsync(Request).AsTask().WaitAsync(Clients.Timeout);
            await client.Ssl.ReadExactlyAsync(response).AsTask().WaitAsync(Clients.Timeout);
        }

        Assert.Equal(Request, response);
    }
}
