using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Fastsock.Engine;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using Fastsock.Transport.Tls;

namespace Fastsock.Tests.Transport.Tls;

/// <summary>
/// The runtime's TLS client layer against its server layer on loopback: a plain relay server opens a connection to a
/// TLS echo server from its worker, runs the client handshake there and forwards a test client's bytes through it.
/// </summary>
public sealed class TlsClientLayerTests : IDisposable
{
    private readonly TestCertificateAuthority _ca = new();

    public void Dispose() => _ca.Dispose();

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Bytes_through_a_verified_client_handshake_come_back_exact_and_tls_stays_on_the_worker(string cores)
    {
        using var leaf = _ca.Issue(["backend.test"]);
        var serverOptions = ServerOptions(leaf);
        await using var backend = await TestServers.StartAsync(TlsLayer.Server(serverOptions, TestServers.Echo), o => o.Cores = CpuSet.Parse(cores));
        var clientOptions = new TlsClientOptions { TargetHost = "backend.test", TrustedRoots = _ca.Roots };
        int offWorker = 0;
        await using var relay = await StartRelayAsync(backend.EndPoints[0], clientOptions, cores, () => Interlocked.Increment(ref offWorker));

        var message = new byte[4 << 20];
        Random.Shared.NextBytes(message);
        for (int i = 0; i < 2; i++)
        {
            using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(relay.EndPoints[0]).WaitAsync(Clients.Timeout);
            var reading = Clients.ReadToEndAsync(client);
            await client.SendAsync(message).WaitAsync(Clients.Timeout);
            client.Shutdown(SocketShutdown.Send);
            Assert.Equal(message, await reading.WaitAsync(Clients.Timeout));
        }

        Assert.Equal(0, Volatile.Read(ref offWorker));
        Assert.True(await Eventually.HoldsAsync(() => clientOptions.Stats.Snapshot().Closed == 2), $"the client connections did not close: {clientOptions.Stats.Snapshot()}");
        var stats = clientOptions.Stats.Snapshot();
        Assert.Equal((2L, 0L), (stats.Handshakes, stats.Failures));

        // SslStream's continuations ran on the worker on both sides: no pipe call had to be posted back.
        Assert.Equal(0, stats.HopsToWorker);
        Assert.True(await Eventually.HoldsAsync(() => serverOptions.Stats.Snapshot().Closed == 2), $"the server side did not close: {serverOptions.Stats.Snapshot()}");
        Assert.Equal(0, serverOptions.Stats.Snapshot().HopsToWorker);
    }

    [Theory]
    [InlineData("unknown-ca", TlsClientFailureReason.UntrustedRoot, "untrusted root")]
    [InlineData("wrong-name", TlsClientFailureReason.NameMismatch, "certificate name mismatch: expected backend.test, got other.test")]
    [InlineData("expired", TlsClientFailureReason.Expired, "expired")]
    public async Task A_refused_certificate_fails_the_handshake_with_its_reason_named_and_counted(string certificate, TlsClientFailureReason reason, string expected)
    {
        using var other = new TestCertificateAuthority("Other CA");
        using var leaf = certificate switch
        {
            "unknown-ca" => other.Issue(["backend.test"]),
            "wrong-name" => _ca.Issue(["other.test"]),
            _ => _ca.Issue(["backend.test"], DateTimeOffset.UtcNow.AddDays(-10), DateTimeOffset.UtcNow.AddDays(-1)),
        };
        await using var backend = await TestServers.StartAsync(TlsLayer.Server(ServerOptions(leaf), TestServers.Echo), o => o.Cores = CoreSets.First);
        var clientOptions = new TlsClientOptions { TargetHost = "backend.test", TrustedRoots = _ca.Roots };
        await using var relay = await StartRelayAsync(backend.EndPoints[0], clientOptions, CoreSets.FirstText, static () => { });

        var answer = await RelayAnswerAsync(relay.EndPoints[0]);
        Assert.Contains(expected, answer, StringComparison.Ordinal);
        Assert.Contains("TLS to backend.test (127.0.0.1:", answer, StringComparison.Ordinal);
        Assert.Contains(reason.ToString(), answer, StringComparison.Ordinal);
        Assert.True(await Eventually.HoldsAsync(() => clientOptions.Stats.Snapshot().FailuresOf(reason) == 1), $"{reason} was not counted: {clientOptions.Stats.Snapshot()}");
        Assert.Equal((0L, 1L), (clientOptions.Stats.Snapshot().Handshakes, clientOptions.Stats.Snapshot().Failures));

        // The same certificate is accepted when verification is off.
        var unverified = new TlsClientOptions { TargetHost = "backend.test", Verify = false };
        await using var lax = await StartRelayAsync(backend.EndPoints[0], unverified, CoreSets.FirstText, static () => { });
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(lax.EndPoints[0]).WaitAsync(Clients.Timeout);
        Assert.Equal("still echoed"u8.ToArray(), await Clients.RoundTripAsync(client, "still echoed"u8.ToArray()));
        Assert.Equal(1, unverified.Stats.Snapshot().Handshakes);
    }

    [Fact]
    public async Task A_server_that_never_answers_the_client_hello_fails_at_the_handshake_timeout()
    {
        // A plain TCP server that reads and says nothing: the handshake stalls.
        await using var silent = await TestServers.StartAsync(async connection =>
        {
            var input = connection.Transport.Input;
            while (true)
            {
                var result = await input.ReadAsync();
                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return;
                }
            }
        }, o => o.Cores = CoreSets.First);
        var clientOptions = new TlsClientOptions { TargetHost = "backend.test", TrustedRoots = _ca.Roots, HandshakeTimeout = TimeSpan.FromMilliseconds(300) };
        await using var relay = await StartRelayAsync(silent.EndPoints[0], clientOptions, CoreSets.FirstText, static () => { });

        var answer = await RelayAnswerAsync(relay.EndPoints[0]);
        Assert.Contains("handshake timed out after 300 ms", answer, StringComparison.Ordinal);
        Assert.Equal(1, clientOptions.Stats.Snapshot().FailuresOf(TlsClientFailureReason.Timeout));
    }

    private static TlsServerOptions ServerOptions(X509Certificate2 certificate)
    {
        var options = new TlsServerOptions();
        options.Certificates.Add(certificate);
        return options;
    }

    /// <summary>
    /// A relay (<see cref="TlsClientRelay"/>) that forwards both ways after the handshake. <paramref name="offWorker"/> is
    /// called when the handler resumed off its worker after the handshake.
    /// </summary>
    private static Task<FastsockServer> StartRelayAsync(EndPoint backend, TlsClientOptions options, string cores, Action offWorker) =>
        TlsClientRelay.StartAsync(backend, options, cores, async (connection, tls) =>
        {
            if (SynchronizationContext.Current is not WorkerSynchronizationContext { Worker.IsCurrentThread: true })
            {
                offWorker();
            }

            await ConnectionForwarder.ForwardAsync(connection, tls);
        });

    private static async Task<string> RelayAnswerAsync(EndPoint relay)
    {
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(relay).WaitAsync(Clients.Timeout);
        return Encoding.UTF8.GetString(await Clients.ReadToEndAsync(client).WaitAsync(Clients.Timeout));
    }
}
