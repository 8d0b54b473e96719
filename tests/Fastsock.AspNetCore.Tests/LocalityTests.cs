using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Fastsock.AspNetCore.Tests.Support;
using Fastsock.Locality;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Fastsock.AspNetCore.Tests;

/// <summary>
/// A connection stays on the CPU that took its SYN: loopback processes a client's packets on the client's CPU, so a
/// client pinned to CPU c must be served (accepted, parsed, endpoint run) by the worker pinned to c.
/// </summary>
public sealed partial class LocalityTests
{
    [TwoCpuFact]
    public async Task A_client_pinned_to_each_cpu_is_served_by_that_cpus_worker()
    {
        var cores = CpuSet.Allowed();
        await using var app = await TestApp.StartAsync(a => a.MapGet("/where", static (HttpContext context) =>
        {
            var feature = context.Features.Get<IFastsockConnectionFeature>();
            var body = Encoding.ASCII.GetBytes(feature is null
                ? "no feature"
                : string.Create(CultureInfo.InvariantCulture, $"{feature.WorkerIndex} {feature.Cpu} {feature.IncomingCpu} {sched_getcpu()}"));
            context.Response.ContentLength = body.Length;
            return context.Response.Body.WriteAsync(body).AsTask();
        }), cores);

        var endPoint = app.EndPoint;
        foreach (int cpu in cores)
        {
            for (int connection = 0; connection < 4; connection++)
            {
                // Two requests per connection: the first runs right after Kestrel's dispatch, the second after a keep-alive wait.
                var answers = await Clients.RunPinnedAsync(cpu, () =>
                {
                    using var socket = Clients.ConnectBlocking(endPoint);
                    return new[] { Ask(socket), Ask(socket) };
                });
                foreach (var answer in answers)
                {
                    var parts = answer.Split(' ');
                    Assert.True(parts.Length == 4, $"client on CPU {cpu} got '{answer}'");
                    Assert.Equal(cores.ToList().IndexOf(cpu), int.Parse(parts[0], CultureInfo.InvariantCulture));
                    Assert.Equal(cpu, int.Parse(parts[1], CultureInfo.InvariantCulture));
                    Assert.Equal(cpu, int.Parse(parts[2], CultureInfo.InvariantCulture));
                    Assert.True(cpu == int.Parse(parts[3], CultureInfo.InvariantCulture), $"client on CPU {cpu}: the endpoint ran on CPU {parts[3]}");
                }
            }
        }
    }

    /// <summary>One keep-alive GET /where; the body (Content-Length framed) as text.</summary>
    private static string Ask(Socket socket)
    {
        socket.Send("GET /where HTTP/1.1\r\nHost: x\r\n\r\n"u8);
        var text = new StringBuilder();
        var buffer = new byte[4096];
        while (true)
        {
            string received = text.ToString();
            int headEnd = received.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (headEnd >= 0)
            {
                int at = received.IndexOf("Content-Length: ", StringComparison.OrdinalIgnoreCase);
                int end = received.IndexOf("\r\n", at, StringComparison.Ordinal);
                int length = int.Parse(received.AsSpan(at + 16, end - at - 16), CultureInfo.InvariantCulture);
                if (received.Length >= headEnd + 4 + length)
                {
                    return received.Substring(headEnd + 4, length);
                }
            }

            int n = socket.Receive(buffer);
            if (n == 0)
            {
                throw new IOException($"EOF before a whole response: {received}");
            }

            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
    }

    [LibraryImport("libc")]
    private static partial int sched_getcpu();
}
