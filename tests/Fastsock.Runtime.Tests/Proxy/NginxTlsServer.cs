namespace Fastsock.Tests.Proxy;

/// <summary>
/// A real nginx as an HTTPS backend, run in the foreground from a temp directory with a generated config and the
/// certificate a test issued: <c>/plaintext</c> answers "Hello", a POST to <c>/post</c> is answered with what nginx
/// read, other paths are files under <c>www</c> in its directory (a test makes <c>/health</c> appear and go), and the
/// access log records per request nginx's connection serial number, the requests served on that connection so far and
/// the TLS protocol, then the request line, bytes read and status. With <c>clientCaFile</c> it asks clients for a certificate issued by that CA
/// (<c>ssl_verify_client on</c>) and answers 400 without one; <c>errorLogLevel</c> info logs each failed handshake.
/// <c>protocols</c> replaces the TLS versions it accepts and <c>serverDirectives</c> are added to its server block (session
/// cache, tickets, keep-alive); with <c>logResumption</c> a second log records per request the TLS protocol, whether the
/// session was reused (nginx's <c>$ssl_session_reused</c>: r or .) and the path.
/// </summary>
internal sealed class NginxTlsServer : IDisposable
{
    private readonly NginxProcess _process;

    private NginxTlsServer(string dir, int port, NginxProcess process)
    {
        Directory = dir;
        Port = port;
        _process = process;
    }

    public string Directory { get; }

    public int Port { get; }

    public static async Task<NginxTlsServer> StartAsync(string dir, int port, string certFile, string keyFile, string errorLogLevel = "warn", string? clientCaFile = null,
        string protocols = "TLSv1.2 TLSv1.3", string serverDirectives = "", bool logResumption = false)
    {
        System.IO.Directory.CreateDirectory(Path.Combine(dir, "www"));
        var clientVerify = clientCaFile is null ? "" : $"ssl_verify_client on; ssl_client_certificate {clientCaFile};";
        var resumptionLog = logResumption ? $"access_log {dir}/resumption.log resumption;" : "";
        var conf = Path.Combine(dir, "nginx.conf");
        File.WriteAllText(conf, $$"""
            daemon off;
            master_process off;
            worker_processes 1;
            pid {{dir}}/nginx.pid;
            error_log {{dir}}/error.log {{errorLogLevel}};
            events { worker_connections 256; }
            http {
                log_format conn '$connection $connection_requests $ssl_protocol $request $request_length $status';
                access_log {{dir}}/access.log conn;
                log_format resumption '$ssl_protocol $ssl_session_reused $request_uri';
                {{resumptionLog}}
                client_body_temp_path {{dir}}/body;
                proxy_temp_path {{dir}}/proxy;
                fastcgi_temp_path {{dir}}/fastcgi;
                uwsgi_temp_path {{dir}}/uwsgi;
                scgi_temp_path {{dir}}/scgi;
                keepalive_requests 10000;
                server {
                    listen 127.0.0.1:{{port}} ssl;
                    ssl_certificate {{certFile}};
                    ssl_certificate_key {{keyFile}};
                    ssl_protocols {{protocols}};
                    client_max_body_size 0;
                    {{clientVerify}}
                    {{serverDirectives}}
                    location / { root {{dir}}/www; }
                    location = /plaintext { return 200 "Hello"; }
                    location = /post { return 200 "posted $content_length bytes over $ssl_protocol"; }
                }
            }
            """);
        return new NginxTlsServer(dir, port, await NginxProcess.StartAsync(dir, port, conf));
    }

    /// <summary>The access log, one entry per request: connection serial, requests on it so far, TLS protocol, request line, bytes read.</summary>
    public string[] AccessLog()
    {
        var path = Path.Combine(Directory, "access.log");
        return File.Exists(path) ? [.. File.ReadAllLines(path).Where(l => l.Length > 0)] : [];
    }

    /// <summary>The resumption log, one entry per request: TLS protocol, r (session reused) or . (full handshake), path.</summary>
    public string[] ResumptionLog()
    {
        var path = Path.Combine(Directory, "resumption.log");
        return File.Exists(path) ? [.. File.ReadAllLines(path).Where(l => l.Length > 0)] : [];
    }

    /// <summary>Where the files nginx serves live (<c>www</c> in its directory).</summary>
    public string WebRoot => Path.Combine(Directory, "www");

    public string ErrorLog() => _process.ErrorLog();

    public void Dispose() => _process.Dispose();
}
