using System.Net;
using System.Security.Cryptography.X509Certificates;
using Fastsock.Hosting;
using Fastsock.Hosting.Handover;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Tests.Transport.Tls;
using Fastsock.Transport;
using Fastsock.Transport.Tls;

namespace Fastsock.Tests.Hosting;

/// <summary>
/// TLS ticket keys go with the listening sockets: a successor given <see cref="ListenerHandoverOptions.TicketKeys"/>
/// resumes the tickets the old server issued (openssl s_client as the client), one without keeps its own. Two servers
/// in one process, the hand-over through a real AF_UNIX socket.
/// </summary>
public sealed class TicketKeysHandoverTests : IDisposable
{
    private static readonly X509Certificate2 Site = TestCertificates.Create("a.example.test", ["a.example.test"]);
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"fastsock-keys-{Guid.NewGuid():N}.sock");
    private readonly string _session = Path.Combine(Path.GetTempPath(), $"fastsock-keys-{Guid.NewGuid():N}.pem");

    public static TheoryData<string, string> Cases
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var cores in CoreSets.OneAndTwoWorkers)
            {
                data.Add(cores, "-tls1_2");
                data.Add(cores, "-tls1_3");
            }

            return data;
        }
    }

    public void Dispose()
    {
        File.Delete(_path);
        File.Delete(_session);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_successor_given_ticket_keys_resumes_the_tickets_the_old_server_issued(string cores, string protocol)
    {
        var (successor, options) = await TakeOverAfterOneSessionAsync(cores, protocol, successorTakesKeys: true);
        await using (successor)
        {
            var again = await OpenSslClientProcess.RunAsync(successor.EndPoints[0], $"-servername a.example.test {protocol} -ign_eof -sess_in {_session}");
            Assert.True(again.Contains("Reused, TLSv1.", StringComparison.Ordinal), $"not resumed by the successor:\n{again}");
            Assert.Contains("hello", again, StringComparison.Ordinal);
            await Eventually.AssertAsync(() => options.Stats.Snapshot().Resumed == 1, () => $"the successor counted no resumption: {options.Stats.Snapshot()}");
        }
    }

    [Fact]
    public async Task A_successor_without_ticket_keys_takes_the_listeners_but_not_the_old_server_s_tickets()
    {
        var (successor, options) = await TakeOverAfterOneSessionAsync(CoreSets.FirstText, "-tls1_3", successorTakesKeys: false);
        await using (successor)
        {
            var again = await OpenSslClientProcess.RunAsync(successor.EndPoints[0], $"-servername a.example.test -tls1_3 -ign_eof -sess_in {_session}");
            Assert.Contains("New, TLSv1.3", again, StringComparison.Ordinal);
            Assert.Contains("hello", again, StringComparison.Ordinal);
            Assert.Equal((1L, 0L), (options.Stats.Snapshot().Handshakes, options.Stats.Snapshot().Resumed));
        }
    }

    [Fact]
    public void The_description_announces_ticket_keys_of_openssl_s_length_only()
    {
        var description = new ListenerSetDescription(42, 1, ListenerSteering.Cpu, [new OfferedGroup(new IPEndPoint(IPAddress.Loopback, 0), new IPEndPoint(IPAddress.Loopback, 8443), [0])])
        {
            TicketKeysLength = TlsTicketKeys.Length,
        };
        var text = description.Format();

        Assert.Contains($"\nticket-keys {TlsTicketKeys.Length}\n", text, StringComparison.Ordinal);
        Assert.Equal(TlsTicketKeys.Length, ListenerSetDescription.Parse(text).TicketKeysLength);
        Assert.Equal(0, ListenerSetDescription.Parse(text.Replace($"ticket-keys {TlsTicketKeys.Length}\n", "", StringComparison.Ordinal)).TicketKeysLength);
        var refused = Assert.Throws<FormatException>(() => ListenerSetDescription.Parse(text.Replace($"ticket-keys {TlsTicketKeys.Length}", "ticket-keys 48", StringComparison.Ordinal)));
        Assert.Contains("ticket-keys", refused.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// An old server (its own keys) issues a session to s_client, then a successor with other keys of its own takes its
    /// listeners, given <see cref="ListenerHandoverOptions.TicketKeys"/> or not; the old server is stopped.
    /// </summary>
    private async Task<(FastsockServer Successor, TlsServerOptions Options)> TakeOverAfterOneSessionAsync(string cores, string protocol, bool successorTakesKeys)
    {
        var oldKeys = new TlsTicketKeys();
        await using var old = await TestServers.StartAsync(TlsLayer.Server(Options(oldKeys), Hello), o =>
        {
            o.Cores = CpuSet.Parse(cores);
            o.Handover.OfferPath = _path;
            o.Handover.TicketKeys = oldKeys;
        });
        var first = await OpenSslClientProcess.RunAsync(old.EndPoints[0], $"-servername a.example.test {protocol} -ign_eof -sess_out {_session}");
        Assert.Contains("New, TLSv1.", first, StringComparison.Ordinal);

        var successorKeys = new TlsTicketKeys();
        var options = Options(successorKeys);
        var successor = await TestServers.StartAsync(TlsLayer.Server(options, Hello), o =>
        {
            o.Cores = CpuSet.Parse(cores);
            o.Handover.TakeOverFrom = _path;
            o.Handover.TicketKeys = successorTakesKeys ? successorKeys : null;
        });
        await old.HandedOver.WaitAsync(Clients.Timeout);
        Assert.Equal(old.EndPoints, successor.EndPoints);
        return (successor, options);
    }

    private static TlsServerOptions Options(TlsTicketKeys keys)
    {
        Assert.True(TlsLayer.OpenSslAvailable, TlsLayer.OpenSslDescription);
        var options = new TlsServerOptions { Engine = TlsServerEngine.OpenSsl, TicketKeys = keys, SessionScope = "ticket-keys-test" };
        options.Certificates.Add(Site);
        return options;
    }

    /// <summary>Says hello and closes (close_notify, then FIN): s_client then ends by itself, its tickets read.</summary>
    private static async Task Hello(Connection connection) => await connection.Transport.Output.WriteAsync("hello\n"u8.ToArray());
}
