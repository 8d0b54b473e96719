using System.Buffers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using Fastsock.Transport.Tls;

namespace Fastsock.Tests.Transport.Tls;

/// <summary>
/// What is new with the OpenSSL engine, with openssl s_client and SslStream as real clients on loopback: ALPN,
/// resumption seen by the client and counted by the layer, a client's close_notify, a KeyUpdate, the off-worker path of
/// the handler's pipes, and memory held by an idle connection. (SNI, bad first bytes, a stalled or truncated handshake
/// and the worker thread of the handler run on both engines in <see cref="TlsLayerTests"/>.)
/// </summary>
public sealed class OpenSslEngineTests
{
    private static readonly X509Certificate2 Site = TestCertificates.Create("a.example.test", ["a.example.test"]);

    public static TheoryData<string, string> ResumptionCases
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var cores in CoreSets.OneAndTwoWorkers)
            {
                data.Add(cores, "-tls1_2");
                data.Add(cores, "-tls1_2 -no_ticket");
                data.Add(cores, "-tls1_3");
            }

            return data;
        }
    }

    private static TlsServerOptions Options(bool alpn = true)
    {
        Assert.True(TlsLayer.OpenSslAvailable, TlsLayer.OpenSslDescription);
        var options = new TlsServerOptions { Engine = TlsServerEngine.OpenSsl };
        options.Certificates.Add(Site);
        if (!alpn)
        {
            options.ApplicationProtocols.Clear();
        }

        return options;
    }

    private static Task<FastsockServer> StartAsync(TlsServerOptions options, ConnectionHandler handler, string cores) =>
        TestServers.StartAsync(TlsLayer.Server(options, handler), o => o.Cores = CpuSet.Parse(cores));

    /// <summary>Says hello and closes (close_notify, then FIN): s_client then ends by itself, its tickets read.</summary>
    private static async Task Hello(Connection connection)
    {
        await connection.Transport.Output.WriteAsync("hello\n"u8.ToArray());
    }

    [Theory]
    [InlineData(TlsServerEngine.OpenSsl, true, "h2,http/1.1", "ALPN protocol: http/1.1")]
    [InlineData(TlsServerEngine.OpenSsl, false, "http/1.1", "No ALPN negotiated")]
    [InlineData(TlsServerEngine.SslStream, true, "h2,http/1.1", "ALPN protocol: http/1.1")]
    [InlineData(TlsServerEngine.SslStream, false, "http/1.1", "No ALPN negotiated")]
    public async Task Alpn_agrees_on_the_layer_s_protocol_the_client_offers_and_is_left_out_when_the_layer_has_none(TlsServerEngine engine, bool layerOffersHttp11, string clientOffers, string expected)
    {
        var options = Options(alpn: layerOffersHttp11);
        options.Engine = engine;
        SslApplicationProtocol? seen = null;
        await using var server = await StartAsync(options, async connection =>
        {
            seen = ((ITlsConnectionFeature)connection).ApplicationProtocol;
            await Hello(connection);
        }, CoreSets.FirstText);

        var output = await OpenSslClientProcess.RunAsync(server.EndPoints[0], $"-servername a.example.test -alpn {clientOffers} -ign_eof");
        Assert.Contains(expected, output, StringComparison.Ordinal);
        Assert.Contains("hello", output, StringComparison.Ordinal);
        Assert.Equal(layerOffersHttp11 ? SslApplicationProtocol.Http11 : default, seen);
        Assert.Equal(layerOffersHttp11 ? 1 : 0, options.Stats.Snapshot().Http11);
    }

    [Theory]
    [InlineData(TlsServerEngine.OpenSsl)]
    [InlineData(TlsServerEngine.SslStream)]
    public async Task Client_offering_only_protocols_the_layer_does_not_serve_gets_no_application_protocol_and_a_counted_error(TlsServerEngine engine)
    {
        var options = Options();
        options.Engine = engine;
        await using var server = await StartAsync(options, Hello, CoreSets.FirstText);
        var output = await OpenSslClientProcess.RunAsync(server.EndPoints[0], "-servername a.example.test -alpn h2 -ign_eof");
        Assert.Contains("no application protocol", output, StringComparison.Ordinal);
        Assert.DoesNotContain("hello", output, StringComparison.Ordinal);
        await Eventually.AssertAsync(() => options.Stats.Snapshot().HandshakeErrors == 1, () => $"no handshake error counted: {options.Stats.Snapshot()}");
    }

    [Theory]
    [MemberData(nameof(ResumptionCases))]
    public async Task Sessions_resume_by_tls_1_2_ticket_and_session_id_and_tls_1_3_ticket_and_are_counted_as_resumed(string cores, string protocol)
    {
        var options = Options();
        await using var server = await StartAsync(options, Hello, cores);
        var session = Path.Combine(Path.GetTempPath(), $"fastsock-ossl-{Guid.NewGuid():N}.pem");
        try
        {
            var first = await OpenSslClientProcess.RunAsync(server.EndPoints[0], $"-servername a.example.test {protocol} -ign_eof -sess_out {session}");
            Assert.Contains("New, TLSv1.", first, StringComparison.Ordinal);
            const int Resumptions = 4; // with two workers, reuseport spreads them: a session comes back on either
            for (int i = 0; i < Resumptions; i++)
            {
                var again = await OpenSslClientProcess.RunAsync(server.EndPoints[0], $"-servername a.example.test {protocol} -ign_eof -sess_in {session}");
                Assert.Contains("Reused, TLSv1.", again, StringComparison.Ordinal);
                Assert.Contains("hello", again, StringComparison.Ordinal);
            }

            await Eventually.AssertAsync(() => options.Stats.Snapshot().Closed == 1 + Resumptions, () => $"connections not all closed: {options.Stats.Snapshot()}");
            var stats = options.Stats.Snapshot();
            Assert.Equal((1 + Resumptions, Resumptions, 0L), (stats.Handshakes, stats.Resumed, stats.Failures));
            Assert.Equal(1 + Resumptions, protocol.StartsWith("-tls1_3", StringComparison.Ordinal) ? stats.Tls13 : stats.Tls12);
        }
        finally
        {
            File.Delete(session);
        }
    }

    [Fact]
    public async Task Client_close_notify_completes_the_handler_s_input_and_the_server_answers_with_its_own()
    {
        var options = Options();
        var outcome = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StartAsync(options, async connection =>
        {
            var input = connection.Transport.Input;
            var received = 0L;
            while (true)
            {
                var result = await input.ReadAsync();
                received += result.Buffer.Length;
                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    outcome.TrySetResult($"{(result.IsCompleted ? "completed" : "cancelled")} after {received} B");
                    return;
                }
            }
        }, CoreSets.FirstText);

        await using var client = await TlsTestClient.ConnectAsync(server.EndPoints[0], "a.example.test");
        await client.Ssl.WriteAsync("12345"u8.ToArray()).AsTask().WaitAsync(Clients.Timeout);
        await client.Ssl.ShutdownAsync().WaitAsync(Clients.Timeout);
        Assert.Equal("completed after 5 B", await outcome.Task.WaitAsync(Clients.Timeout));

        // The server's close_notify ends the client's read cleanly (0), not with a reset or a truncation error.
        Assert.Equal(0, await client.Ssl.ReadAsync(new byte[16]).AsTask().WaitAsync(Clients.Timeout));
        Assert.Equal(0, options.Stats.Snapshot().Failures);
    }

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task The_last_answer_and_the_close_notify_leave_in_one_send(string cores)
    {
        var options = Options();
        long? sendsBeforeAnswer = null;
        FastsockServer? started = null;
        await using var server = await StartAsync(options, async connection =>
        {
            var input = connection.Transport.Input;
            var request = await input.ReadAsync();
            input.AdvanceTo(request.Buffer.End);
            sendsBeforeAnswer = started!.GetStats().Sum(s => s.SendCalls);
            await connection.Transport.Output.WriteAsync("answer"u8.ToArray());
        }, cores);
        started = server;

        await using var client = await TlsTestClient.ConnectAsync(server.EndPoints[0], "a.example.test");
        await client.Ssl.WriteAsync("request"u8.ToArray()).AsTask().WaitAsync(Clients.Timeout);
        var answer = new byte[16];
        int length = await client.Ssl.ReadAsync(answer).AsTask().WaitAsync(Clients.Timeout);
        Assert.Equal("answer", Encoding.ASCII.GetString(answer, 0, length));
        Assert.Equal(0, await client.Ssl.ReadAsync(answer).AsTask().WaitAsync(Clients.Timeout)); // the close_notify

        Assert.True(await Eventually.HoldsAsync(() => server.GetStats().Sum(s => s.Closed) == 1), "the connection did not close");
        Assert.NotNull(sendsBeforeAnswer);
        Assert.Equal(1, server.GetStats().Sum(s => s.SendCalls) - sendsBeforeAnswer.Value);
    }

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task Tls_1_3_session_tickets_leave_with_the_first_answer_not_in_a_send_of_their_own(string cores)
    {
        var options = Options();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StartAsync(options, async connection =>
        {
            started.TrySetResult();
            var input = connection.Transport.Input;
            var request = await input.ReadAsync();
            input.AdvanceTo(request.Buffer.End);
            await connection.Transport.Output.WriteAsync("answer"u8.ToArray());
        }, cores);

        await using var client = await TlsTestClient.ConnectAsync(server.EndPoints[0], "a.example.test", System.Security.Authentication.SslProtocols.Tls13);

        // The handshake's turn is over (the handler runs): the request comes in a turn of its own.
        await started.Task.WaitAsync(Clients.Timeout);
        await client.Ssl.WriteAsync("request"u8.ToArray()).AsTask().WaitAsync(Clients.Timeout);
        var answer = new byte[16];
        int length = await client.Ssl.ReadAsync(answer).AsTask().WaitAsync(Clients.Timeout);
        Assert.Equal("answer", Encoding.ASCII.GetString(answer, 0, length));
        Assert.Equal(0, await client.Ssl.ReadAsync(answer).AsTask().WaitAsync(Clients.Timeout));

        // The server's flight, then the tickets with the answer and the close_notify: two sends, where there were three.
        Assert.True(await Eventually.HoldsAsync(() => server.GetStats().Sum(s => s.Closed) == 1), "the connection did not close");
        Assert.Equal(2, server.GetStats().Sum(s => s.SendCalls));
    }

    [Fact]
    public async Task Tickets_held_for_an_answer_go_out_when_a_second_record_finds_none()
    {
        var options = Options();
        var lines = new StringBuilder();
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StartAsync(options, async connection =>
        {
            // Reads and never answers, like a log sink.
            var input = connection.Transport.Input;
            while (true)
            {
                var result = await input.ReadAsync();
                foreach (var segment in result.Buffer)
                {
                    lines.Append(Encoding.ASCII.GetString(segment.Span));
                }

                input.AdvanceTo(result.Buffer.End);
                if (lines.ToString().Contains("one", StringComparison.Ordinal))
                {
                    first.TrySetResult();
                }

                if (result.IsCompleted)
                {
                    return;
                }
            }
        }, CoreSets.FirstText);

        using var client = OpenSslClientProcess.Start(server.EndPoints[0], "-servername a.example.test -tls1_3 -msg");
        await client.WaitForAsync("Finished");
        await client.TypeAsync("one\n");
        await first.Task.WaitAsync(Clients.Timeout);
        await Task.Delay(300);
        Assert.DoesNotContain("NewSessionTicket", client.Output, StringComparison.Ordinal);

        await client.TypeAsync("two\n");
        await client.WaitForAsync("NewSessionTicket");
        await client.CloseInputAndWaitAsync();
        Assert.Equal((1L, 0L), (options.Stats.Snapshot().Handshakes, options.Stats.Snapshot().Failures));
    }

    [Fact]
    public async Task KeyUpdate_from_the_client_asking_for_ours_keeps_the_echo_going_both_ways()
    {
        var options = Options();
        await using var server = await StartAsync(options, async connection =>
        {
            var input = connection.Transport.Input;
            var seen = new StringBuilder();
            while (true)
            {
                var result = await input.ReadAsync();
                foreach (var segment in result.Buffer)
                {
                    seen.Append(Encoding.ASCII.GetString(segment.Span));
                    await connection.Transport.Output.WriteAsync(segment);
                }

                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || seen.ToString().Contains("pong", StringComparison.Ordinal))
                {
                    return;
                }
            }
        }, CoreSets.FirstText);

        using var client = OpenSslClientProcess.Start(server.EndPoints[0], "-servername a.example.test -tls1_3");
        await client.TypeAsync("ping\n");
        await client.WaitForAsync("ping");
        int echoedBefore = CountOf(client.Output, "ping");

        // "K": a KeyUpdate with update_requested, so the server must update its own sending keys too.
        await client.TypeAsync("K\n");
        await client.WaitForAsync("KEYUPDATE");
        await client.TypeAsync("pong\n");
        await client.WaitForAsync("pong");
        Assert.True(echoedBefore >= 1, client.Output);
        await client.CloseInputAndWaitAsync();
        Assert.Equal((1L, 0L), (options.Stats.Snapshot().Handshakes, options.Stats.Snapshot().Failures));
    }

    [Fact]
    public async Task Handler_writing_from_off_the_worker_is_posted_back_and_counted_as_hops()
    {
        var options = Options();
        int offWorkerFlushesDone = 0;
        await using var server = await StartAsync(options, async connection =>
        {
            var input = connection.Transport.Input;
            while (true)
            {
                var result = await input.ReadAsync();
                var copy = result.Buffer.ToArray();
                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }

                // Write from a thread-pool thread, as a handler that left the worker (ConfigureAwait(false)) does.
                // Inside Task.Run, not after awaiting it: a task already finished when awaited continues on the worker.
                await Task.Run(async () =>
                {
                    await connection.Transport.Output.WriteAsync(copy);
                    Interlocked.Increment(ref offWorkerFlushesDone);
                });
            }
        }, CoreSets.FirstText);

        await using (var client = await TlsTestClient.ConnectAsync(server.EndPoints[0], "a.example.test"))
        {
            Assert.Equal("one"u8.ToArray(), await client.RoundTripAsync("one"u8.ToArray()));
            Assert.Equal("two"u8.ToArray(), await client.RoundTripAsync("two"u8.ToArray()));
        }

        await Eventually.AssertAsync(() => options.Stats.Snapshot().Closed == 1, () => $"not closed: {options.Stats.Snapshot()}");
        Assert.Equal(2, Volatile.Read(ref offWorkerFlushesDone));
        Assert.True(options.Stats.Snapshot().HopsToWorker >= 2, $"off-worker flushes were not posted back: {options.Stats.Snapshot()}");
    }

    [Fact]
    public async Task Idle_keep_alive_connection_holds_no_block_of_the_worker_s_pool()
    {
        var options = Options();
        await using var server = await StartAsync(options, TestServers.Echo, CoreSets.FirstText);
        var pool = server.WorkerList[0].Pool;
        long before = pool.InUse;
        await using var client = await TlsTestClient.ConnectAsync(server.EndPoints[0], "a.example.test");
        var large = new byte[100_000];
        Random.Shared.NextBytes(large);
        Assert.Equal(large, await client.RoundTripAsync(large));
        Assert.Equal("small"u8.ToArray(), await client.RoundTripAsync("small"u8.ToArray()));

        // Idle now: the plaintext blocks went back once the echo consumed them, and none waits for the next record.
        await Eventually.AssertAsync(() => pool.InUse <= before, () => $"{pool.InUse - before} blocks still held by an idle TLS connection");
    }

    [Theory]
    [InlineData(TlsServerEngine.OpenSsl)]
    [InlineData(TlsServerEngine.SslStream)]
    public async Task Echo_of_16_mib_sent_while_reading_comes_back_byte_exact(TlsServerEngine engine)
    {
        var options = Options();
        options.Engine = engine;
        await using var server = await StartAsync(options, TestServers.Echo, CoreSets.FirstText);
        var payload = new byte[16 * 1024 * 1024];
        new Random(7).NextBytes(payload);
        await using var client = await TlsTestClient.ConnectAsync(server.EndPoints[0], "a.example.test", System.Security.Authentication.SslProtocols.Tls13);
        var send = Task.Run(async () =>
        {
            for (int at = 0; at < payload.Length; at += 256 * 1024)
            {
                await client.Ssl.WriteAsync(payload.AsMemory(at, 256 * 1024));
            }
        });
        var received = new byte[payload.Length];
        await client.Ssl.ReadExactlyAsync(received).AsTask().WaitAsync(TimeSpan.FromSeconds(120));
        await send.WaitAsync(Clients.Timeout);
        Assert.True(payload.AsSpan().SequenceEqual(received), "the echo differs from what was sent");
    }

    private static int CountOf(string text, string value)
    {
        int count = 0;
        for (int at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
