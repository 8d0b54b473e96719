using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using Fastsock.Transport.Tls;

namespace Fastsock.Tests.Transport.Tls;

/// <summary>
/// A server that, after a good handshake, sends a record the client layer cannot accept: one whose authentication tag
/// is corrupted, or one cut short by its FIN. The plaintext read fails with an IOException that says which
/// (<see cref="TlsLayer.RecordFailureOf"/>); completing both ends as usual then closes the socket (the server sees
/// it), counts the connection as closed and the record by kind, and lets no exception escape the close (once, SslStream's
/// refusal to send a close_notify after such a record, a CryptographicException, escaped it and left the socket open).
/// Every byte of the good records before it is read first, also when they and the bad one arrive in one segment
/// (SslStream, handed them in one read, threw away the plaintext it had decrypted from them).
/// The server is SslStream on a TcpListener over a stream that spoils the record on demand.
/// </summary>
public sealed class TlsClientBadRecordTests : IDisposable
{
    private readonly TestCertificateAuthority _ca = new();
    private readonly List<Exception> _unobserved = [];

    public TlsClientBadRecordTests() => TaskScheduler.UnobservedTaskException += OnUnobserved;

    public static TheoryData<string, string, SslProtocols> Cases
    {
        get
        {
            var data = new TheoryData<string, string, SslProtocols>();
            foreach (var cores in CoreSets.OneAndTwoWorkers)
            {
                foreach (var protocol in new[] { SslProtocols.Tls12, SslProtocols.Tls13 })
                {
                    data.Add("/bad-head", cores, protocol);
                    data.Add("/bad-body/100000/40000", cores, protocol);
                    data.Add("/cut-body/100000/40000", cores, protocol);
                    data.Add("/burst-body/10000/4000", cores, protocol); // the head, 4 good records and the bad one in one send
                }
            }

            return data;
        }
    }

    public void Dispose()
    {
        TaskScheduler.UnobservedTaskException -= OnUnobserved;
        _ca.Dispose();
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_bad_or_cut_record_from_the_server_fails_the_read_then_the_close_closes_the_socket_and_counts_it(string path, string cores, SslProtocols protocol)
    {
        using var leaf = _ca.Issue(["backend.test"]);
        bool cut = path.StartsWith("/cut", StringComparison.Ordinal);
        string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        int expected = path == "/bad-head" ? 0 : $"HTTP/1.1 200 OK\r\nContent-Length: {parts[1]}\r\n\r\n".Length + int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
        await using var backend = new FaultyTlsHttpBackend(leaf, protocol);
        var received = new MemoryStream(); // written by the relay before it answers the test's socket
        var options = new TlsClientOptions { TargetHost = "backend.test", TrustedRoots = _ca.Roots };
        await using var relay = await TlsClientRelay.StartAsync(backend.EndPoint, options, cores, async (client, tls) =>
        {
            await tls.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: backend.test\r\n\r\n"));
            var (plaintext, outcome) = await ReadUntilFailureAsync(tls, received);
            var failure = TlsLayer.RecordFailureOf(tls);

            // As a proxy drops a backend connection: both ends completed, without an error.
            tls.Transport.Input.Complete();
            tls.Transport.Output.Complete();
            await client.Transport.Output.WriteAsync(Encoding.UTF8.GetBytes($"{failure}|{plaintext}|{outcome}\n"));
        });

        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(relay.EndPoints[0]).WaitAsync(Clients.Timeout);
        string[] answer = Encoding.UTF8.GetString(await Clients.ReadToEndAsync(socket)).TrimEnd('\n').Split('|');

        Assert.True(answer[2].StartsWith("IOException", StringComparison.Ordinal), $"the read ended with {answer[2]}");
        Assert.Equal(cut ? nameof(TlsClientRecordFailure.Truncated) : nameof(TlsClientRecordFailure.Rejected), answer[0]);

        // Every byte before the spoiled record was read, and nothing after: the head and the good body bytes, or nothing.
        Assert.Equal(expected, long.Parse(answer[1], System.Globalization.CultureInfo.InvariantCulture));
        byte[] plaintext = received.ToArray();
        if (expected > 0)
        {
            string head = $"HTTP/1.1 200 OK\r\nContent-Length: {parts[1]}\r\n\r\n";
            Assert.Equal(head, Encoding.ASCII.GetString(plaintext, 0, head.Length));
            for (int i = head.Length; i < plaintext.Length; i++)
            {
                Assert.True(plaintext[i] == FaultyTlsHttpBackend.BodyByte(i - head.Length), $"body byte {i - head.Length} is {plaintext[i]}, not {FaultyTlsHttpBackend.BodyByte(i - head.Length)}");
            }
        }

        // The close went through whatever SslStream thought of it: the socket closed and the connection was counted.
        await Eventually.AssertAsync(() => backend.ClosedByPeer == 1, () => $"the server never saw the connection close: {options.Stats.Snapshot()}");
        await Eventually.AssertAsync(() => options.Stats.Snapshot().Closed == 1, () => $"the connection was not counted as closed: {options.Stats.Snapshot()}");
        var stats = options.Stats.Snapshot();
        Assert.Equal((1L, 0L), (stats.Handshakes, stats.Failures));
        Assert.Equal(cut ? (0L, 1L) : (1L, 0L), (stats.BadRecords, stats.TruncatedRecords));
        AssertNoExceptionEscapedTheClose();
    }

    [Theory]
    [MemberData(nameof(CoreSets.OneAndTwoWorkers), MemberType = typeof(CoreSets))]
    public async Task A_response_read_to_its_end_counts_no_bad_record(string cores)
    {
        using var leaf = _ca.Issue(["backend.test"]);
        await using var backend = new FaultyTlsHttpBackend(leaf);
        var options = new TlsClientOptions { TargetHost = "backend.test", TrustedRoots = _ca.Roots };
        await using var relay = await TlsClientRelay.StartAsync(backend.EndPoint, options, cores, async (client, tls) =>
        {
            await tls.Transport.Output.WriteAsync("GET /ok HTTP/1.1\r\nHost: backend.test\r\nConnection: close\r\n\r\n"u8.ToArray());
            var result = await tls.Transport.Input.ReadAtLeastAsync(2);
            int length = (int)result.Buffer.Length;
            tls.Transport.Input.AdvanceTo(result.Buffer.End);
            var failure = TlsLayer.RecordFailureOf(tls);
            tls.Transport.Input.Complete();
            tls.Transport.Output.Complete();
            await client.Transport.Output.WriteAsync(Encoding.UTF8.GetBytes($"{failure}|{length}\n"));
        });

        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(relay.EndPoints[0]).WaitAsync(Clients.Timeout);
        string answer = Encoding.UTF8.GetString(await Clients.ReadToEndAsync(socket));

        Assert.StartsWith($"{TlsClientRecordFailure.None}|", answer, StringComparison.Ordinal);
        await Eventually.AssertAsync(() => options.Stats.Snapshot().Closed == 1, () => $"the connection was not counted as closed: {options.Stats.Snapshot()}");
        Assert.Equal((0L, 0L), (options.Stats.Snapshot().BadRecords, options.Stats.Snapshot().TruncatedRecords));
    }

    /// <summary>Reads plaintext into <paramref name="received"/> until a read throws or the input ends: the bytes read, and how it ended.</summary>
    private static async Task<(long Plaintext, string Outcome)> ReadUntilFailureAsync(Connection tls, MemoryStream received)
    {
        long plaintext = 0;
        try
        {
            while (true)
            {
                var result = await tls.Transport.Input.ReadAsync();
                plaintext += result.Buffer.Length;
                foreach (var segment in result.Buffer)
                {
                    received.Write(segment.Span);
                }

                tls.Transport.Input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return (plaintext, result.IsCompleted ? "ended" : "cancelled");
                }
            }
        }
        catch (Exception ex)
        {
            return (plaintext, $"{ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>
    /// A close that threw would leave a faulted task nobody awaits: collected, it is reported here. Other tests' tasks
    /// may be reported too, so only the TLS client connection's own count.
    /// </summary>
    private void AssertNoExceptionEscapedTheClose()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        lock (_unobserved)
        {
            var ours = _unobserved.Where(e => e.ToString().Contains(nameof(TlsClientConnection), StringComparison.Ordinal)).ToList();
            Assert.True(ours.Count == 0, $"an exception escaped the TLS client connection's close: {string.Join("; ", ours)}");
        }
    }

    private void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e)
    {
        lock (_unobserved)
        {
            _unobserved.Add(e.Exception);
        }
    }
}
