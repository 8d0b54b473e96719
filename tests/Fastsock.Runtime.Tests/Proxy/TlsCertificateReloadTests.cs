using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>kill -HUP re-reads a TLS frontend's certificate files: new connections get the new one, open ones carry on.</summary>
public sealed class TlsCertificateReloadTests : TlsOperationsHarness
{
    [Fact]
    public async Task Rewritten_certificate_reaches_new_connections_after_sighup_while_an_open_keep_alive_connection_keeps_working_and_an_invalid_one_is_rejected()
    {
        await using var backend = new RawBackend(async c =>
        {
            while (true)
            {
                var path = (await c.ReadHeadAsync()).Split(' ')[1];
                await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {path.Length}\r\n\r\n{path}");
            }
        });
        WriteCertificate("first.test");
        var (proxy, frontend, _) = await StartAsync(CoreSets.FirstText, backend.Port);
        int connections = 0;
        var seen = new List<string>();
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, token) =>
            {
                Interlocked.Increment(ref connections);
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(frontend, token);
                return new NetworkStream(socket, ownsSocket: true);
            },
            SslOptions =
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    lock (seen)
                    {
                        seen.Add(((X509Certificate2)certificate!).GetNameInfo(X509NameType.SimpleName, forIssuer: false));
                    }

                    return certificate is not null;
                },
            },
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        };
        using var client = new HttpClient(handler) { Timeout = Clients.Timeout };
        Assert.Equal("/before", await client.GetStringAsync(new Uri($"https://a.example.test:{frontend.Port}/before")));
        Assert.Contains("subject=CN = first.test", await SClientAsync(frontend, ""), StringComparison.Ordinal);

        WriteCertificate("second.test");
        await ReloadAsync(proxy, "Reloaded ");
        Assert.Contains("subject=CN = second.test", await SClientAsync(frontend, ""), StringComparison.Ordinal);
        Assert.Equal("/after", await client.GetStringAsync(new Uri($"https://a.example.test:{frontend.Port}/after")));

        await File.WriteAllTextAsync(CertPath, "not a certificate\n");
        await ReloadAsync(proxy, "Reload rejected");
        Assert.Contains("site.crt' holds no PEM certificate", proxy.Stdout, StringComparison.Ordinal);
        Assert.Contains("subject=CN = second.test", await SClientAsync(frontend, ""), StringComparison.Ordinal);
        Assert.Equal("/still", await client.GetStringAsync(new Uri($"https://a.example.test:{frontend.Port}/still")));

        // The keep-alive connection opened before both reloads served all three requests under the first certificate.
        Assert.Equal(1, Volatile.Read(ref connections));
        Assert.Equal(["first.test"], seen);
        Assert.False(proxy.HasExited);
    }

    private static async Task ReloadAsync(SampleProcess proxy, string outcome)
    {
        int before = Occurrences(proxy.Stdout, outcome);
        proxy.Signal("HUP");
        await Eventually.AssertAsync(() => Occurrences(proxy.Stdout, outcome) > before, () => $"no new '{outcome}' line after SIGHUP. stdout: {proxy.Stdout}");
    }

    private static int Occurrences(string text, string value)
    {
        int count = 0;
        for (int at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
