using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// Session tickets issued by fastsock-proxy resume after a config reload that re-reads a changed certificate and after
/// a takeover by a new process (the ticket key goes over the hand-over socket), as openssl s_client sees them; a
/// ticket of one frontend does not resume on another (sessions are scoped to the frontend).
/// </summary>
[Trait("Category", "Slow")] // real processes: skip with --filter Category!=Slow
public sealed class TlsTicketKeysProcessTests : TlsOperationsHarness
{
    private static readonly string ProxyDll = Path.Combine(AppContext.BaseDirectory, "fastsock-proxy.dll");
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(30);

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

    private string Socket => Path.Combine(Dir, "admin.sock");

    private string Session => Path.Combine(Dir, "session.pem");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_ticket_issued_before_a_reload_that_changes_the_certificate_resumes_after_it(string cores, string protocol)
    {
        await using var backend = PathBackend();
        WriteCertificate("first.test");
        using var proxy = await StartProxyAsync($"--cores {cores}", backend.Port);
        var web = await proxy.ListeningOnAsync("frontend web");
        AssertNew(await SClientAsync(web, $"{protocol} -sess_out {Session}"));

        WriteCertificate("second.test");
        int reloads = Occurrences(proxy.Stdout, "Reloaded ");
        proxy.Signal("HUP");
        await Eventually.AssertAsync(() => Occurrences(proxy.Stdout, "Reloaded ") > reloads, () => $"no 'Reloaded' line after SIGHUP. stdout: {proxy.Stdout}");
        Assert.Contains("subject=CN = second.test", await SClientAsync(web, protocol), StringComparison.Ordinal);

        AssertReused(await SClientAsync(web, $"{protocol} -sess_in {Session}"));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_ticket_issued_by_the_old_process_resumes_on_the_process_that_took_its_listeners_over(string cores, string protocol)
    {
        await using var backend = PathBackend();
        using var old = await StartProxyAsync($"--cores {cores}", backend.Port);
        var web = await old.ListeningOnAsync("frontend web");
        AssertNew(await SClientAsync(web, $"{protocol} -sess_out {Session}"));

        using var successor = await StartProxyAsync($"--cores {cores} --takeover {Socket}", backend.Port);
        Assert.Equal(0, await old.WaitForExitAsync(ExitTimeout));
        Assert.Equal(web, await successor.ListeningOnAsync("frontend web"));

        AssertReused(await SClientAsync(web, $"{protocol} -sess_in {Session}"));
    }

    [Theory]
    [InlineData("-tls1_2")]
    [InlineData("-tls1_3")]
    public async Task A_ticket_of_one_frontend_does_not_resume_on_another_that_shares_the_process_key(string protocol)
    {
        await using var backend = PathBackend();
        using var proxy = await StartProxyAsync($"--cores {CoreSets.FirstText}", backend.Port, secondFrontend: true);
        var web = await proxy.ListeningOnAsync("frontend web");
        var other = await proxy.ListeningOnAsync("frontend other");
        AssertNew(await SClientAsync(web, $"{protocol} -sess_out {Session}"));

        AssertReused(await SClientAsync(web, $"{protocol} -sess_in {Session}"));
        AssertNew(await SClientAsync(other, $"{protocol} -sess_in {Session}"));
    }

    private static void AssertNew(string output)
    {
        Assert.Contains("New, TLSv1.", output, StringComparison.Ordinal);
        Assert.Contains("HTTP/1.1 200 OK", output, StringComparison.Ordinal);
    }

    private static void AssertReused(string output)
    {
        Assert.True(output.Contains("Reused, TLSv1.", StringComparison.Ordinal), $"the session was not resumed:\n{output}");
        Assert.Contains("HTTP/1.1 200 OK", output, StringComparison.Ordinal);
    }

    /// <summary>A backend answering every request with 200 and its path (keep-alive).</summary>
    private static RawBackend PathBackend() => new(async c =>
    {
        while (true)
        {
            var path = (await c.ReadHeadAsync()).Split(' ')[1];
            await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {path.Length}\r\n\r\n{path}");
        }
    });

    /// <summary>The proxy with the https frontend "web" (and "other" with the same certificate), offering its listeners on a hand-over socket.</summary>
    private async Task<SampleProcess> StartProxyAsync(string arguments, int backendPort, bool secondFrontend = false)
    {
        if (!File.Exists(CertPath))
        {
            WriteCertificate("first.test");
        }

        var tls = $$"""{ "certificates": [ { "cert": "{{CertPath}}", "key": "{{KeyPath}}" } ] }""";
        var other = secondFrontend ? $$""", { "name": "other", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b", "tls": {{tls}} }""" : "";
        var config = Path.Combine(Dir, "proxy.json");
        await File.WriteAllTextAsync(config, $$"""
            { "admin": { "bind": "127.0.0.1:0", "socket": "{{Socket}}" },
              "frontends": [ { "name": "web", "bind": ["127.0.0.1:0"], "mode": "http", "backend": "b", "tls": {{tls}} }{{other}} ],
              "backends": [ { "name": "b", "servers": [ { "address": "127.0.0.1:{{backendPort}}" } ] } ],
              "timeouts": { "server": "60s", "httpRequest": "60s" } }
            """);
        return await SampleProcess.StartReadyAsync(ProxyDll, $"--config {config} {arguments}");
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
