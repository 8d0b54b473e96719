using System.Buffers;
using System.IO.Pipelines;
using Fastsock.Hosting;
using Fastsock.Http;
using Fastsock.Transport;

namespace Fastsock.Samples.Hello;

/// <summary>
/// The HTTP/1.1 connection loop: parse every complete request in the buffer (pipelining), write every response,
/// flush once. Per request it allocates nothing: the parser works on the pipe's memory, responses are pre-encoded.
/// </summary>
internal sealed class HelloApp
{
    private static readonly HttpRequestParser s_parser = new(HttpParserLimits.Default);

    // The parser copies a head that spans buffer segments here; each worker thread has its own.
    [ThreadStatic]
    private static byte[]? t_scratch;

    private readonly Func<IReadOnlyList<WorkerStats>> _stats;

    public HelloApp(Func<IReadOnlyList<WorkerStats>> stats) => _stats = stats;

    public async Task HandleAsync(Connection connection)
    {
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        var body = new RequestBody();
        bool open = true;
        while (open)
        {
            var result = await input.ReadAsync();
            var buffer = result.Buffer;
            if (result.IsCanceled && connection.IsShutdownRequested)
            {
                break; // graceful shutdown between requests
            }

            open = ProcessRequests(ref buffer, output, ref body, out bool wrote);
            input.AdvanceTo(buffer.Start, buffer.End);
            if (wrote)
            {
                var flush = await output.FlushAsync();
                if (flush.IsCompleted)
                {
                    break;
                }
            }

            if (result.IsCompleted)
            {
                break; // the peer closed its side; a partial request left in the buffer is dropped with it
            }
        }

        await input.CompleteAsync();
        await output.CompleteAsync();
    }

    /// <summary>Handles every complete request in <paramref name="buffer"/>; false when the connection must close.</summary>
    private bool ProcessRequests(ref ReadOnlySequence<byte> buffer, PipeWriter output, ref RequestBody body, out bool wrote)
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

                return true; // the body continues in the next read
            }

            var scratch = t_scratch ??= new byte[s_parser.Limits.MaxHeadLength];
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
            if (head.ExpectContinue && head.HasBody)
            {
                HttpResponseWriter.WriteContinue(output);
            }

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
        bool isGet = head.Method is RequestMethod.Get or RequestMethod.Head;
        if (path.SequenceEqual("/plaintext"u8) || path.SequenceEqual("/"u8))
        {
            Write(output, isGet, "text/plain"u8, "Hello, World!"u8, keepAlive, head.Method == RequestMethod.Head, head.Version);
        }
        else if (path.SequenceEqual("/json"u8))
        {
            Write(output, isGet, "application/json"u8, "{\"message\":\"Hello, World!\"}"u8, keepAlive, head.Method == RequestMethod.Head, head.Version);
        }
        else if (path.SequenceEqual("/stats"u8))
        {
            Write(output, isGet, "application/json"u8, StatsJson.Write(_stats()), keepAlive, head.Method == RequestMethod.Head, head.Version);
        }
        else
        {
            HttpResponseWriter.WriteError(output, 404, keepAlive);
        }
    }

    private static void Write(PipeWriter output, bool isGet, ReadOnlySpan<byte> contentType, ReadOnlySpan<byte> content, bool keepAlive, bool headOnly, HttpVersion version)
    {
        if (!isGet)
        {
            HttpResponseWriter.WriteError(output, 405, keepAlive);
            return;
        }

        if (headOnly)
        {
            HttpResponseWriter.WriteStatusLine(output, 200);
            HttpResponseWriter.WriteDate(output);
            HttpResponseWriter.WriteServer(output);
            HttpResponseWriter.WriteHeader(output, "Content-Type"u8, contentType);
            HttpResponseWriter.WriteContentLength(output, content.Length);
            if (!keepAlive)
            {
                HttpResponseWriter.WriteConnectionClose(output);
            }

            HttpResponseWriter.WriteEndOfHeaders(output);
            return;
        }

        HttpResponseWriter.WriteResponse(output, 200, contentType, content, keepAlive, version);
    }
}
