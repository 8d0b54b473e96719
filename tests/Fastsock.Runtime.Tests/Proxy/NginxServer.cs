using System.Diagnostics;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// A real nginx as an HTTP backend, run in the foreground from a temp directory with a generated config:
/// <c>/plaintext</c> answers "Hello", <c>/echo-headers</c> echoes what the proxy sent, <c>/big</c> is a static file,
/// and the access log records nginx's connection serial number per request.
/// </summary>
internal sealed class NginxServer : IDisposable
{
    private readonly NginxProcess _process;

    private NginxServer(string dir, int port, NginxProcess process)
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
        return new NginxServer(dir, port, await NginxProcess.StartAsync(dir, port, conf));
    }

    /// <summary>nginx's connection serial numbers ($connection), one per logged request.</summary>
    public string[] LoggedConnections() =>
        File.Exists(AccessLog) ? [.. File.ReadAllLines(AccessLog).Where(l => l.Length > 0).Select(l => l.Split(' ')[0])] : [];

    /// <summary>
    /// <see cref="LoggedConnections"/> once at least <paramref name="requests"/> requests are logged: nginx writes a
    /// request's line after sending its response, so a client holding the last response can be ahead of the log.
    /// </summary>
    public async Task<string[]> LoggedConnectionsAsync(int requests)
    {
        await Eventually.AssertAsync(() => LoggedConnections().Length >= requests, () => $"nginx logged {LoggedConnections().Length} of {requests} requests");
        return LoggedConnections();
    }

    /// <summary>Sends nginx a real signal through kill(1): STOP hangs it (its sockets stay open, nothing answers), CONT resumes it.</summary>
    public void Signal(string name)
    {
        using var kill = Process.Start("kill", $"-{name} {_process.Id}");
        Assert.True(kill.WaitForExit(10_000), "kill did not return");
        Assert.Equal(0, kill.ExitCode);
    }

    public void Dispose() => _process.Dispose();
}
