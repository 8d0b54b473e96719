using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using Fastsock.Transport.Tls;

namespace Fastsock.Tests.Proxy;

/// <summary>
/// An HTTPS backend in the test process (the runtime's TLS server layer): for each request it reads the whole body,
/// answers its SHA-256 in <c>X-Body-Sha256</c> and a body of <c>X-Reply-Length</c> random bytes whose SHA-256 it
/// keeps, so a test can check both directions byte for byte without holding either in memory. Keep-alive.
/// </summary>
internal sealed class HttpsBodyBackend : IAsyncDisposable
{
    private readonly FastsockServer _server;
    private string? _lastReplyHash;

    private HttpsBodyBackend(FastsockServer server) => _server = server;

    public int Port => _server.EndPoints[0].Port;

    public TlsServerOptions Options { get; private set; } = null!;

    /// <summary>The SHA-256 (hex) of the last reply body sent.</summary>
    public string? LastReplyHash => Volatile.Read(ref _lastReplyHash);

    public static async Task<HttpsBodyBackend> StartAsync(X509Certificate2 certificate, CpuSet cores)
    {
        var options = new TlsServerOptions();
        options.Certificates.Add(certificate);
        HttpsBodyBackend? backend = null;
        var server = await TestServers.StartAsync(TlsLayer.Server(options, c => backend!.ServeAsync(c)), o => o.Cores = cores);
        backend = new HttpsBodyBackend(server) { Options = options };
        return backend;
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private async Task ServeAsync(Connection connection)
    {
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        var chunk = RandomNumberGenerator.GetBytes(256 * 1024);
        while (await ReadHeadAsync(input) is { } head)
        {
            using var received = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long left = Header(head, "Content-Length");
            while (left > 0)
            {
                var result = await input.ReadAsync();
                var body = result.Buffer.Slice(0, Math.Min(left, result.Buffer.Length));
                foreach (var segment in body)
                {
                    received.AppendData(segment.Span);
                }

                left -= body.Length;
                input.AdvanceTo(body.End);
                if (left > 0 && result.IsCompleted)
                {
                    return;
                }
            }

            long reply = Header(head, "X-Reply-Length");
            await output.WriteAsync(Encoding.ASCII.GetBytes(
                $"HTTP/1.1 200 OK\r\nContent-Length: {reply}\r\nX-Body-Sha256: {Convert.ToHexString(received.GetHashAndReset())}\r\n\r\n"));
            using var sent = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            if (reply == 0)
            {
                Volatile.Write(ref _lastReplyHash, Convert.ToHexString(sent.GetHashAndReset()));
            }

            for (long done = 0; done < reply;)
            {
                int n = (int)Math.Min(chunk.Length, reply - done);
                chunk[0]++; // no two chunks alike
                sent.AppendData(chunk.AsSpan(0, n));
                done += n;
                if (done == reply)
                {
                    // Known before the last bytes leave: a client that has read them all may look at once.
                    Volatile.Write(ref _lastReplyHash, Convert.ToHexString(sent.GetHashAndReset()));
                }

                await output.WriteAsync(chunk.AsMemory(0, n));
            }
        }
    }

    private static async Task<string?> ReadHeadAsync(PipeReader input)
    {
        while (true)
        {
            var result = await input.ReadAsync();
            var reader = new SequenceReader<byte>(result.Buffer);
            if (reader.TryReadTo(out ReadOnlySequence<byte> head, "\r\n\r\n"u8))
            {
                var text = Encoding.Latin1.GetString(head);
                input.AdvanceTo(reader.Position);
                return text;
            }

            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                return null;
            }
        }
    }

    private static long Header(string head, string name)
    {
        foreach (var line in head.Split("\r\n"))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line.AsSpan(0, colon).Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return long.Parse(line.AsSpan(colon + 1).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }
}
