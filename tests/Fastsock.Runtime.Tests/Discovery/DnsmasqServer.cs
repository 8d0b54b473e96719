using System.Diagnostics;
using System.Net;
using System.Text;
using DnsClient;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Discovery;

/// <summary>
/// A real dnsmasq on 127.0.0.1 and a free port, authoritative for <c>*.test</c> and asking nobody else: A/AAAA
/// records from a hosts file (rewritten and re-read on SIGHUP while it runs), SRV records from its command line
/// (changed by a restart on the same port), and an outage by killing it.
/// </summary>
internal sealed class DnsmasqServer : IDisposable
{
    private const string Binary = "/usr/sbin/dnsmasq";

    /// <summary>A name always present, to tell that dnsmasq answers.</summary>
    private const string ReadyName = "ready.test";

    private readonly string _dir;
    private readonly StringBuilder _log = new();
    private readonly Lock _gate = new();
    private Process? _process;
    private IReadOnlyList<string> _srvRecords = [];
    private HashSet<string> _hostNames = [];

    private DnsmasqServer(string dir, int port)
    {
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    /// <summary>The JSON <c>resolvers</c> section of a proxy config that asks this dnsmasq.</summary>
    public string ResolversJson => $$"""{ "nameservers": ["127.0.0.1:{{Port}}"], "timeout": "300ms", "retries": 0 }""";

    private string HostsFile => Path.Combine(_dir, "hosts");

    private string Log
    {
        get
        {
            lock (_gate)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts dnsmasq on a free port with <paramref name="hosts"/> (address, name) and <paramref name="srvRecords"/>.</summary>
    /// <param name="srvRecords">dnsmasq's <c>--srv-host</c> values: <c>_http._tcp.svc.test,target.test,8080,0,10</c> (name, target, port, priority, weight).</param>
    public static Task<DnsmasqServer> StartAsync(string dir, IEnumerable<(string Address, string Name)> hosts, IReadOnlyList<string>? srvRecords = null) =>
        LoopbackPorts.StartPeerAsync(async port =>
        {
            Assert.True(File.Exists(Binary), $"{Binary} is missing: .ci/run installs it (apt-get install dnsmasq-base)");
            var dns = new DnsmasqServer(dir, port);
            dns.WriteHosts(hosts);
            dns._srvRecords = srvRecords ?? [];
            try
            {
                await dns.RunAsync();
            }
            catch
            {
                dns.Dispose();
                throw;
            }

            return dns;
        });

    /// <summary>Replaces the A/AAAA records and makes dnsmasq re-read them (SIGHUP); returns once it answers with them.</summary>
    public async Task SetHostsAsync(IEnumerable<(string Address, string Name)> hosts)
    {
        var list = hosts.ToList();
        var names = _hostNames.Union(list.Select(h => h.Name)).ToList();
        WriteHosts(list);
        using (var kill = Process.Start("kill", $"-HUP {_process!.Id}"))
        {
            Assert.True(kill.WaitForExit(Clients.Timeout), "kill did not return");
            Assert.Equal(0, kill.ExitCode);
        }

        // SIGHUP is handled asynchronously: wait until what it serves is the new file, so the test's clock starts after it.
        var lookup = Client();
        foreach (var name in names)
        {
            var expected = list.Where(h => h.Name == name && !h.Address.Contains(':', StringComparison.Ordinal)).Select(h => h.Address).Order().ToList();
            await Eventually.AssertAsync(
                () => lookup.Query(name, QueryType.A).Answers.ARecords().Select(a => a.Address.ToString()).Order().SequenceEqual(expected),
                () => $"dnsmasq did not serve the new records of {name} after SIGHUP. log: {Log}");
        }
    }

    /// <summary>Restarts dnsmasq on the same port with other SRV records; returns once it answers.</summary>
    public async Task SetSrvRecordsAsync(IReadOnlyList<string> srvRecords)
    {
        Stop();
        _srvRecords = srvRecords;
        await RunAsync();
    }

    /// <summary>A DNS outage: dnsmasq is killed and nothing answers on its port until <see cref="RestartAsync"/>.</summary>
    public void Stop()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            _process.WaitForExit(Clients.Timeout);
        }

        _process?.Dispose();
        _process = null;
    }

    public Task RestartAsync() => RunAsync();

    public void Dispose() => Stop();

    private LookupClient Client() =>
        new(new LookupClientOptions(EndPoint) { UseCache = false, Timeout = TimeSpan.FromMilliseconds(500), Retries = 0 });

    private void WriteHosts(IEnumerable<(string Address, string Name)> hosts)
    {
        var text = new StringBuilder($"127.0.0.1 {ReadyName}\n");
        _hostNames = [];
        foreach (var (address, name) in hosts)
        {
            _hostNames.Add(name);
            text.Append(address).Append(' ').Append(name).Append('\n');
        }

        // Renamed into place: dnsmasq never reads half a file.
        var temp = HostsFile + ".new";
        File.WriteAllText(temp, text.ToString());
        File.Move(temp, HostsFile, overwrite: true);
    }

    private async Task RunAsync()
    {
        var arguments = new StringBuilder(
            $"--keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --no-poll --local=/test/ --log-facility=- --pid-file= " +
            $"--listen-address=127.0.0.1 --bind-interfaces --port={Port} --addn-hosts={HostsFile}");
        if (Environment.UserName == "root")
        {
            arguments.Append(" --user=root"); // as root dnsmasq drops to nobody, who cannot read the test's private temp directory
        }

        foreach (var srv in _srvRecords)
        {
            arguments.Append(" --srv-host=").Append(srv);
        }

        var process = new Process
        {
            StartInfo = new ProcessStartInfo(Binary, arguments.ToString())
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            },
        };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var lookup = Client();
        bool answering = await Eventually.HoldsAsync(async () =>
        {
            if (process.HasExited)
            {
                return true;
            }

            try
            {
                var response = await lookup.QueryAsync(ReadyName, QueryType.A);
                return response.Answers.ARecords().Any();
            }
            catch (DnsResponseException)
            {
                return false;
            }
        });
        if (process.HasExited)
        {
            await process.WaitForExitAsync().WaitAsync(Clients.Timeout); // drains the redirected output
            // "Address already in use" here is what LoopbackPorts.StartPeerAsync retries on.
            throw new InvalidOperationException($"dnsmasq --port {Port} exited ({process.ExitCode}): {Log}");
        }

        Assert.True(answering, $"dnsmasq did not answer on 127.0.0.1:{Port} within {Clients.Timeout}: {Log}");
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_gate)
            {
                _log.AppendLine(line);
            }
        }
    }
}
