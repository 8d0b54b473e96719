using System.Buffers;
using System.IO.Pipelines;
using Fastsock.Hosting;
using Fastsock.Http;
using Fastsock.Samples.Hello;
using Fastsock.Samples.Proxy.Routing;
using Fastsock.Transport;

namespace Fastsock.Samples.Proxy.Stats;

/// <summary>
/// The admin listener (<c>admin.bind</c>): <c>GET /stats</c> (HTML), <c>GET /stats?format=json</c> and
/// <c>GET /metrics</c> (Prometheus text); anything else is 404, other methods 405. HTTP/1.1 keep-alive and
/// pipelining, parsed by the runtime's parser like the Hello app. Each request builds a fresh report: it allocates,
/// which is fine off the data path.
/// </summary>
internal sealed class AdminEndpoint(ProxyCounters counters, IReadOnlyDictionary<string, BackendPool> pools, Func<IReadOnlyList<WorkerStats>> workerStats)
{
    private static readonly HttpRequestParser s_parser = new(HttpParserLimits.Default);

    public async Task HandleAsync(Connection connection)
    {
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        var body = new RequestBody();
        var scratch = new byte[s_parser.Limits.MaxHeadLength];
        bool open = true;
        while (open)
        {
            var result = await input.ReadAsync();
            var buffer = result.Buffer;
            if (result.IsCanceled && connection.IsShutdownRequested)
            {
                break;
            }

            open = ProcessRequests(ref buffer, output, scratch, ref body, out bool wrote);
            input.AdvanceTo(buffer.Start, buffer.End);
            if (wrote && (await output.FlushAsync()).IsCompleted)
            {
                break;
            }

            if (result.IsCompleted)
            {
                break;
            }
        }

        await input.CompleteAsync();
        await output.CompleteAsync();
    }

    private bool ProcessRequests(ref ReadOnlySequence<byte> buffer, PipeWriter output, byte[] scratch, ref RequestBody body, out bool wrote)
    {
        wrote = false;
        while (true)
        {
            if (!body.Skip(ref buffer, out var bodyError))
            {
                if (bodyError is not null)
                {
                    HttpResponseWriter.WriteError(output, bodyError.StatusCode);
                    wrote = true;
                    return false;
                }

                return true;
            }

            var status = s_parser.TryParse(buffer, scratch, out var head);
            if (status == HttpParseStatus.NeedMoreData)
            {
                return true;
            }

            wrote = true;
            if (status == HttpParseStatus.Error)
            {
                HttpResponseWriter.WriteError(output, head.Error!.StatusCode);
                return false;
            }

            bool keepAlive = head.KeepAlive;
            Respond(output, ref head, keepAlive);
            body.Start(head.ContentLength, head.IsChunked);
            buffer = buffer.Slice(head.Consumed);
            if (!keepAlive)
            {
                return false;
            }
        }
    }

    private void Respond(PipeWriter output, ref HttpRequestHead head, bool keepAlive)
    {
        var path = head.Path;
        bool stats = path.SequenceEqual("/stats"u8) || path.SequenceEqual("/stats/"u8);
        bool metrics = path.SequenceEqual("/metrics"u8);
        if (!stats && !metrics)
        {
            HttpResponseWriter.WriteError(output, 404, keepAlive);
            return;
        }

        if (head.Method != RequestMethod.Get)
        {
            HttpResponseWriter.WriteError(output, 405, keepAlive);
            return;
        }

        var report = StatsReport.Collect(counters, pools, workerStats());
        if (metrics)
        {
            HttpResponseWriter.WriteResponse(output, 200, "text/plain; version=0.0.4; charset=utf-8"u8, PrometheusText.Write(report), keepAlive, head.Version);
        }
        else if (WantsJson(head.Query))
        {
            HttpResponseWriter.WriteResponse(output, 200, "application/json"u8, StatsJsonWriter.Write(report), keepAlive, head.Version);
        }
        else
        {
            HttpResponseWriter.WriteResponse(output, 200, "text/html; charset=utf-8"u8, StatsHtml.Write(report), keepAlive, head.Version);
        }
    }

    /// <summary>True when the query has <c>format=json</c> among its <c>&amp;</c>-separated parameters.</summary>
    private static bool WantsJson(ReadOnlySpan<byte> query)
    {
        foreach (var range in query.Split((byte)'&'))
        {
            if (query[range].SequenceEqual("format=json"u8))
            {
                return true;
            }
        }

        return false;
    }
}
