using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// A real nginx as an HTTP backend, run in the foreground from a temp directory with a generated config:
/// <c>/plaintext</c> answers "Hello", <c>/echo-headers</c> echoes what the proxy sent, <c>/big</c> is a static file,
/// and the access log records nginx's connection serial number per request.
/// </summary>
internal sealed class NginxServer : IDisposable
{
    private readonly Process _process;

    private NginxServer(string dir, int port, Process process)
    {
        Directory = dir;
        Port = port;
        _process = process;
    }

    public string Directory { get; }

    public int Port { get; }

    public string AccessLog => Path.Combine(Directory, "access.log");

    public static async Task<NginxServer> StartAsync(string dir, int port, byte[] bigFile, int workerConnections = 256)
    {
        Assert.True(File.Exists("/usr/sbin/nginx"), "nginx is missing: .ci/run installs it (apt-get install nginx-light)");
        System.IO.Directory.CreateDirectory(Path.Combine(dir, "www"));
        File.WriteAllBytes(Path.Combine(dir, "www", "big"), bigFile);
        var conf = Path.Combine(dir, "nginx.conf");
        File.WriteAllText(conf, $$"""
            daemon off;
            master_process off;
            worker_processes 1;
            pid {{dir}}/nginx.pid;
            error_log {{dir}}/error.log warn;
            events { worker_connections {{workerConnections}}; }
            http {
                log_format conn '$connection $request';
                access_log {{dir}}/access.log conn;
                client_body_temp_path {{dir}}/body;
                proxy_temp_path {{dir}}/proxy;
                fastcgi_temp_path {{dir}}/fastcgi;
                uwsgi_temp_path {{dir}}/uwsgi;
                scgi_temp_path {{dir}}/scgi;
                keepalive_requests 10000;
                server {
                    listen 127.0.0.1:{{port}};
                    location = /plaintext { return 200 "Hello"; }
                    location = /echo-headers { return 200 "xff=$http_x_forwarded_for conn=$http_connection te=$http_te foo=$http_foo"; }
                    location = /big { root {{dir}}/www; }
                }
            }
            """);
        var process = Process.Start(new ProcessStartInfo("/usr/sbin/nginx", $"-p {dir} -e {dir}/error.log -c {conf}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var nginx = new NginxServer(dir, port, process);
        await WaitForPortAsync(port, process, dir);
        return nginx;
    }

    /// <summary>nginx's connection serial numbers ($connection), one per logged request.</summary>
    public string[] LoggedConnections() =>
        [.. File.ReadAllLines(AccessLog).Where(l => l.Length > 0).Select(l => l.Split(' ')[0])];

    /// <summary>Sends nginx a real signal through kill(1): STOP hangs it (its sockets stay open, nothing answers), CONT resumes it.</summary>
    public void Signal(string name)
    {
        using var kill = Process.Start("kill", $"-{name} {_process.Id}");
        Assert.True(kill.WaitForExit(10_000), "kill did not return");
        Assert.Equal(0, kill.ExitCode);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }

        _process.Dispose();
    }

    /// <remarks>
    /// Fails at once if nginx exits, with its error log: "Address already in use" there is what
    /// <see cref="LoopbackPorts.StartPeerAsync{T}"/> retries on.
    /// </remarks>
    private static async Task WaitForPortAsync(int port, Process process, string dir)
    {
        bool listening = await Eventually.HoldsAsync(async () =>
        {
            Assert.False(process.HasExited, $"nginx exited: {ReadLog(dir)}");
            using var probe = new Socket(SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await probe.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        });
        Assert.True(listening, $"nginx did not listen on 127.0.0.1:{port}: {ReadLog(dir)}");
    }

    private static string ReadLog(string dir)
    {
        var log = Path.Combine(dir, "error.log");
        return File.Exists(log) ? File.ReadAllText(log) : "(no error.log)";
    }
}
