using System.Security.Cryptography;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// <c>tls.ticketKeys</c>: a key file in HAProxy's tls-ticket-keys format shared by two fastsock-proxy processes (as two
/// machines would share it): a ticket one issues resumes on the other, a rotation (a key appended, then a reload)
/// keeps the tickets sealed by the previous sealing key until they age out, and a file that does not hold such keys
/// stops the proxy at start with the file, key and reason. openssl s_client is the client.
/// </summary>
[Trait("Category", "Slow")] // real processes: skip with --filter Category!=Slow
public sealed class TlsTicketKeysFileTests : TlsOperationsHarness
{
    private static readonly string ProxyDll = Path.Combine(AppContext.BaseDirectory, "fastsock-proxy.dll");

    public static TheoryData<string, int> Cases
    {
        get
        {
            var data = new TheoryData<string, int>();
            foreach (var protocol in new[] { "-tls1_2", "-tls1_3" })
            {
                data.Add(protocol, 80);
                data.Add(protocol, 48);
            }

            return data;
        }
    }

    private string KeysPath => Path.Combine(Dir, "ticket.keys");

    private string Session => Path.Combine(Dir, "session.pem");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_ticket_issued_by_one_process_resumes_on_another_reading_the_same_key_file(string protocol, int keyLength)
    {
        AppendKeys(3, keyLength);
        await using var backend = PathBackend();
        using var first = await StartProxyAsync("first", CoreSets.FirstText, backend.Port);
        var allowed = Fastsock.Locality.CpuSet.Allowed();
        var twoWorkers = allowed.Count >= 2 ? Fastsock.Locality.CpuSet.Of(allowed[0], allowed[1]).ToString() : CoreSets.FirstText;
        using var second = await StartProxyAsync("second", twoWorkers, backend.Port);
        var firstWeb = await first.ListeningOnAsync("frontend web");
        var secondWeb = await second.ListeningOnAsync("frontend web");

        Assert.Contains("New, TLSv1.", await SClientAsync(firstWeb, $"{protocol} -sess_out {Session}"), StringComparison.Ordinal);
        AssertReused(await SClientAsync(secondWeb, $"{protocol} -sess_in {Session}"));
        AssertReused(await SClientAsync(firstWeb, $"{protocol} -sess_in {Session}"));
    }

    [Theory]
    [InlineData("-tls1_2")]
    [InlineData("-tls1_3")]
    public async Task After_a_rotation_a_ticket_sealed_by_the_previous_key_resumes_and_after_two_it_does_not(string protocol)
    {
        AppendKeys(3, 80);
        await using var backend = PathBackend();
        using var proxy = await StartProxyAsync("rotating", CoreSets.FirstText, backend.Port);
        var web = await proxy.ListeningOnAsync("frontend web");
        Assert.Contains("New, TLSv1.", await SClientAsync(web, $"{protocol} -sess_out {Session}"), StringComparison.Ordinal);

        AppendKeys(1, 80);
        await ReloadAsync(proxy);
        AssertReused(await SClientAsync(web, $"{protocol} -sess_in {Session}"));

        AppendKeys(1, 80);
        await ReloadAsync(proxy);
        Assert.Contains("New, TLSv1.", await SClientAsync(web, $"{protocol} -sess_in {Session}"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_file_with_fewer_than_three_keys_stops_the_proxy_at_start_naming_the_file_and_key()
    {
        AppendKeys(2, 80);
        using var proxy = SampleProcess.Start(ProxyDll, $"--config {await WriteConfigAsync("short", 1)} --cores {CoreSets.FirstText}");
        Assert.Equal(2, await proxy.WaitForExitAsync(Clients.Timeout));
        Assert.Contains("frontends[0].tls.ticketKeys", proxy.Stderr, StringComparison.Ordinal);
        Assert.Contains("holds 2 keys; give at least 3", proxy.Stderr, StringComparison.Ordinal);
    }

    private static void AssertReused(string output)
    {
        Assert.True(output.Contains("Reused, TLSv1.", StringComparison.Ordinal), $"the session was not resumed:\n{output}");
        Assert.Contains("HTTP/1.1 200 OK", output, StringComparison.Ordinal);
    }

    /// <summary>Appends <paramref name="count"/> random keys to the file, one base64 line each, as `openssl rand 80 | openssl base64 -A` would.</summary>
    private void AppendKeys(int count, int length)
    {
        for (int i = 0; i < count; i++)
        {
            File.AppendAllText(KeysPath, Convert.ToBase64String(RandomNumberGenerator.GetBytes(length)) + "\n");
        }
    }

    private static async Task ReloadAsync(SampleProcess proxy)
    {
        int before = proxy.Stdout.Split("Reloaded ").Length;
        proxy.Signal("HUP");
        await Eventually.AssertAsync(() => proxy.Stdout.Split("Reloaded ").Length > before, () => $"no 'Reloaded' line after SIGHUP. stdout: {proxy.Stdout}");
    }

    private static RawBackend PathBackend() => new(async c =>
    {
        while (true)
        {
            var path = (await c.ReadHeadAsync()).Split(' ')[1];
            await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {path.Length}\r\n\r\n{path}");
        }
    });

    private async Task<SampleProcess> StartProxyAsync(string name, string cores, int backendPort)
    {
        return await SampleProcess.StartReadyAsync(ProxyDll, $"--config {await WriteConfigAsync(name, backendPort)} --cores {cores}");
    }

    /// <summary>The https frontend "web" with the site's certificate and the shared key file (a relative path: next to the config).</summary>
    private async Task<string> WriteConfigAsync(string name, int backendPort)
    {
        if (!File.Exists(CertPath))
        {
            WriteCertificate("keys.test");
        }

        var config = Path.Combine(Dir, name + ".json");
        await File.WriteAllTextAsync(config, $$"""
            { "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b",
                               "tls": { "certificates": [ { "cert": "{{CertPath}}", "key": "{{KeyPath}}" } ], "ticketKeys": "ticket.keys" } } ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{backendPort}}" } ] } ],
              "timeouts": { "server": "60s", "httpRequest": "60s" } }
            """);
        return config;
    }
}
