using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Fastsock.Engine;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using Fastsock.Transport.Tls;

namespace Fastsock.Tests.Transport.Tls;

/// <summary>The runtime's TLS server layer, each case on both engines (OpenSSL and SslStream), with a .NET SslStream client on real loopback sockets.</summary>
public sealed class TlsLayerTests
{
    private static readonly X509Certificate2 Exact = TestCertificates.Create("a.example.test", ["a.example.test"]);
    private static readonly X509Certificate2 Wildcard = TestCertificates.Create("wild.test", ["*.wild.test"]);
    private static readonly X509Certificate2 Fallback = TestCertificates.Create("default.test", ["default.test"]);

    public static TheoryData<TlsServerEngine> Engines => new() { TlsServerEngine.OpenSsl, TlsServerEngine.SslStream };

    public static TheoryData<TlsServerEngine, string> EnginesAndWorkers
    {
        get
        {
            var data = new TheoryData<TlsServerEngine, string>();
            foreach (var engine in new[] { TlsServerEngine.OpenSsl, TlsServerEngine.SslStream })
            {
                foreach (var row in CoreSets.OneAndTwoWorkers)
                {
                    data.Add(engine, row);
                }
            }

            return data;
        }
    }

    private static TlsServerOptions Options(TlsServerEngine engine, TimeSpan? handshakeTimeout = null)
    {
        Assert.True(engine != TlsServerEngine.OpenSsl || TlsLayer.OpenSslAvailable, TlsLayer.OpenSslDescription);
        var options = new TlsServerOptions { Engine = engine, DefaultCertificate = Fallback, HandshakeTimeout = handshakeTimeout ?? TimeSpan.FromSeconds(10) };
        options.Certificates.Add(Exact);
        options.Certificates.Add(Wildcard);
        options.Certificates.Add(Fallback);
        return options;
    }

    private static Task<FastsockServer> StartAsync(TlsServerOptions options, ConnectionHandler handler, string cores) =>
        TestServers.StartAsync(TlsLayer.Server(options, handler), o => o.Cores = CpuSet.Parse(cores));

    [Theory]
    [MemberData(nameof(EnginesAndWorkers))]
    public async Task Handler_under_tls_runs_on_its_worker_thread_and_echoes_plaintext_with_tls_1_2_and_1_3(TlsServerEngine engine, string cores)
    {
        int offWorker = 0;
        var options = Options(engine);
        await using var server = await StartAsync(options, async connection =>
        {
            var input = connection.Transport.Input;
            while (true)
            {
                var result = await input.ReadAsync();
                if (SynchronizationContext.Current is not WorkerSynchronizationContext { Worker.IsCurrentThread: true })
                {
                    Interlocked.Increment(ref offWorker);
                }

                foreach (var segment in result.Buffer)
                {
                    await connection.Transport.Output.WriteAsync(segment);
                }

                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }, cores);

        foreach (var protocol in new[] { SslProtocols.Tls12, SslProtocols.Tls13 })
        {
            await using var client = await TlsTestClient.ConnectAsync(server.EndPoints[0], "a.example.test", protocol);
            Assert.Equal(protocol, client.Ssl.SslProtocol);
            Assert.Equal(SslApplicationProtocol.Http11, client.Ssl.NegotiatedApplicationProtocol);
            var message = new byte[200_000];
            Random.Shared.NextBytes(message);
            Assert.Equal(message, await client.RoundTripAsync(message));
        }

        Assert.Equal(0, Volatile.Read(ref offWorker));
        var stats = options.Stats.Snapshot();
        Assert.Equal((2, 1, 1, 2, 0), (stats.Handshakes, stats.Tls12, stats.Tls13, stats.Http11, stats.Failures));

        // SslStream's own continuations ran on the worker too: none of its pipe calls had to be posted back.
        Assert.True(await Eventually.HoldsAsync(() => options.Stats.Snapshot().Closed == 2), $"the two TLS connections did not close: {options.Stats.Snapshot()}");
        Assert.Equal(0, options.Stats.Snapshot().HopsToWorker);
    }

    [Theory]
    [InlineData(TlsServerEngine.OpenSsl, "a.example.test", "a.example.test")]
    [InlineData(TlsServerEngine.OpenSsl, "A.Example.Test", "a.example.test")]
    [InlineData(TlsServerEngine.OpenSsl, "x.wild.test", "wild.test")]
    [InlineData(TlsServerEngine.OpenSsl, "deeper.x.wild.test", "default.test")]
    [InlineData(TlsServerEngine.OpenSsl, "unknown.test", "default.test")]
    [InlineData(TlsServerEngine.OpenSsl, null, "default.test")]
    [InlineData(TlsServerEngine.SslStream, "a.example.test", "a.example.test")]
    [InlineData(TlsServerEngine.SslStream, "A.Example.Test", "a.example.test")]
    [InlineData(TlsServerEngine.SslStream, "x.wild.test", "wild.test")]
    [InlineData(TlsServerEngine.SslStream, "deeper.x.wild.test", "default.test")]
    [InlineData(TlsServerEngine.SslStream, "unknown.test", "default.test")]
    [InlineData(TlsServerEngine.SslStream, null, "default.test")]
    public async Task Certificate_is_chosen_by_sni_exact_then_one_label_wildcard_then_default(TlsServerEngine engine, string? serverName, string expectedCommonName)
    {
        var options = Options(engine);
        string? seen = "unset";
        await using var server = await StartAsync(options, connection =>
        {
            seen = ((ITlsConnectionFeature)connection).ServerName;
            return Task.CompletedTask;
        }, CoreSets.FirstText);

        await using var client = await TlsTestClient.ConnectAsync(server.EndPoints[0], serverName);
        Assert.Equal(expectedCommonName, client.ServerCertificate!.GetNameInfo(X509NameType.SimpleName, forIssuer: false));
        Assert.True(await Eventually.HoldsAsync(() => seen != "unset"), "the handler never ran");
        Assert.Equal(serverName ?? "", seen, ignoreCase: true);
    }

    [Theory]
    [InlineData(TlsServerEngine.OpenSsl, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", TlsFailureReason.NotTls)]
    [InlineData(TlsServerEngine.OpenSsl, "random", TlsFailureReason.NotTls)]
    [InlineData(TlsServerEngine.OpenSsl, "truncated", TlsFailureReason.PeerClosed)]
    [InlineData(TlsServerEngine.SslStream, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", TlsFailureReason.NotTls)]
    [InlineData(TlsServerEngine.SslStream, "random", TlsFailureReason.NotTls)]
    [InlineData(TlsServerEngine.SslStream, "truncated", TlsFailureReason.PeerClosed)]
    [InlineData(TlsServerEngine.OpenSsl, "garbage handshake", TlsFailureReason.HandshakeError)]
    public async Task Bad_first_bytes_close_only_their_connection_and_are_counted_by_reason(TlsServerEngine engine, string input, TlsFailureReason reason)
    {
        var options = Options(engine);
        await using var server = await StartAsync(options, TestServers.Echo, CoreSets.FirstText);
        byte[] bytes = input switch
        {
            "random" => RandomNotHandshake(),
            // A record header announcing a 512-byte ClientHello, then only its first bytes and a FIN.
            "truncated" => [22, 3, 1, 2, 0, 1, 0, 1, 252, 3, 3, 1, 2, 3, 4],
            // A whole handshake record whose message is not a ClientHello: the engine itself must refuse it.
            "garbage handshake" => [22, 3, 1, 0, 8, 99, 0, 0, 4, 1, 2, 3, 4],
            _ => System.Text.Encoding.ASCII.GetBytes(input),
        };

        await using var healthy = await TlsTestClient.ConnectAsync(server.EndPoints[0], "a.example.test");
        using (var bad = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await bad.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);
            await bad.SendAsync(bytes).WaitAsync(Clients.Timeout);
            bad.Shutdown(SocketShutdown.Send);
            var (received, _) = await Clients.ReadUntilClosedAsync(bad).WaitAsync(Clients.Timeout);

            // Refused before TLS: nothing. Refused by the engine: its fatal alert, one 7-byte record.
            Assert.Equal(reason == TlsFailureReason.HandshakeError ? 7 : 0, received);
        }

        Assert.True(await Eventually.HoldsAsync(() => Count(options.Stats.Snapshot(), reason) == 1), $"{reason} was not counted: {options.Stats.Snapshot()}");
        Assert.Equal(1, options.Stats.Snapshot().Failures);
        Assert.Equal("still here"u8.ToArray(), await healthy.RoundTripAsync("still here"u8.ToArray()));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Client_stalling_mid_handshake_is_closed_at_the_handshake_timeout_while_others_complete(TlsServerEngine engine)
    {
        var options = Options(engine, handshakeTimeout: TimeSpan.FromMilliseconds(300));
        await using var server = await StartAsync(options, TestServers.Echo, CoreSets.FirstText);
        using var stalled = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await stalled.ConnectAsync(server.EndPoints[0]).WaitAsync(Clients.Timeout);
        await stalled.SendAsync(new byte[] { 22, 3, 1, 2, 0, 1, 0, 1, 252, 3, 3 }).WaitAsync(Clients.Timeout);

        // The stalled client never sends the rest nor closes: only the server's timeout can end it.
        var (received, _) = await Clients.ReadUntilClosedAsync(stalled).WaitAsync(Clients.Timeout);
        Assert.Equal(0, received);
        Assert.True(await Eventually.HoldsAsync(() => options.Stats.Snapshot().Timeouts == 1), $"no timeout counted: {options.Stats.Snapshot()}");

        await using var healthy = await TlsTestClient.ConnectAsync(server.EndPoints[0], "x.wild.test");
        Assert.Equal("after"u8.ToArray(), await healthy.RoundTripAsync("after"u8.ToArray()));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Client_offering_only_tls_1_2_to_a_tls_1_3_only_layer_fails_with_a_counted_handshake_error(TlsServerEngine engine)
    {
        var options = Options(engine);
        options.EnabledProtocols = SslProtocols.Tls13;
        await using var server = await StartAsync(options, TestServers.Echo, CoreSets.FirstText);
        await Assert.ThrowsAnyAsync<Exception>(() => TlsTestClient.ConnectAsync(server.EndPoints[0], "a.example.test", SslProtocols.Tls12));
        Assert.True(await Eventually.HoldsAsync(() => options.Stats.Snapshot().HandshakeErrors == 1), $"no handshake error counted: {options.Stats.Snapshot()}");
    }

    [Theory]
    [MemberData(nameof(EnginesAndWorkers))]
    public async Task Graceful_stop_ends_a_tls_handler_s_pending_read_as_cancelled_not_as_an_error(TlsServerEngine engine, string cores)
    {
        var options = Options(engine);
        var outcome = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await StartAsync(options, async connection =>
        {
            var input = connection.Transport.Input;
            try
            {
                while (true)
                {
                    var result = await input.ReadAsync();
                    foreach (var segment in result.Buffer)
                    {
                        await connection.Transport.Output.WriteAsync(segment);
                    }

                    input.AdvanceTo(result.Buffer.End);
                    if (result.IsCanceled || result.IsCompleted)
                    {
                        outcome.TrySetResult(result.IsCanceled ? "cancelled" : "completed");
                        return;
                    }
                }
            }
            catch (Exception ex)
            {
                outcome.TrySetResult($"{ex.GetType().Name}: {ex.Message}");
                throw;
            }
        }, cores);
        try
        {
            await using var client = await TlsTestClient.ConnectAsync(server.EndPoints[0], "a.example.test");
            Assert.Equal("idle next"u8.ToArray(), await client.RoundTripAsync("idle next"u8.ToArray()));

            // The keep-alive connection is idle (or about to read): the stop cancels the read under the TLS layer.
            var stopping = server.StopAsync();
            Assert.Equal("cancelled", await outcome.Task.WaitAsync(Clients.Timeout));
            await stopping.WaitAsync(Clients.Timeout);
            Assert.Equal(0, await client.Ssl.ReadAsync(new byte[16]).AsTask().WaitAsync(Clients.Timeout));
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void Layer_without_a_certificate_or_key_is_refused_when_built(TlsServerEngine engine)
    {
        Assert.Throws<ArgumentException>(() => TlsLayer.Server(new TlsServerOptions { Engine = engine }, TestServers.Echo));
        var options = new TlsServerOptions { Engine = engine };
        options.Certificates.Add(X509CertificateLoader.LoadCertificate(Exact.Export(X509ContentType.Cert)));
        var error = Assert.Throws<ArgumentException>(() => TlsLayer.Server(options, TestServers.Echo));
        Assert.Contains("no private key", error.Message, StringComparison.Ordinal);
    }

    private static byte[] RandomNotHandshake()
    {
        var bytes = new byte[64];
        Random.Shared.NextBytes(bytes);
        bytes[0] = (byte)(bytes[0] == 22 ? 23 : bytes[0]);
        return bytes;
    }

    private static long Count(TlsStatsSnapshot stats, TlsFailureReason reason) => reason switch
    {
        TlsFailureReason.NotTls => stats.NotTls,
        TlsFailureReason.PeerClosed => stats.PeerClosed,
        TlsFailureReason.Timeout => stats.Timeouts,
        _ => stats.HandshakeErrors,
    };
}
