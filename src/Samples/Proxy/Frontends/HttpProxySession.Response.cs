using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Fastsock.Engine;
using Fastsock.Http;
using Fastsock.Http.Proxying;
using Fastsock.Samples.Proxy.Balancing;

namespace Fastsock.Samples.Proxy.Frontends;

// The response half: interim 1xx heads forwarded as they come, the final head with hop-by-hop fields removed and
// the framing the client can read, the body, then the backend connection back to the worker's pool when it can be.
internal sealed partial class HttpProxySession
{
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private async ValueTask<Exchange> ForwardResponseAsync(ServerState server, bool replayable)
    {
        var input = _backend!.Transport.Input;
        ResponseInfo response;
        var watch = _frontend.AbortOnClose ? WatchClient() : default;
        try
        {
            for (bool first = true; ; first = false)
            {
                ReadResult result;
                try
                {
                    result = await ReadBackendAsync(input).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    return await BackendFailedAsync(server, $"no response within {_frontend.Timeouts.Server.TotalMilliseconds} ms", 504).ConfigureAwait(false);
                }
                catch (IOException ex)
                {
                    return replayable && first ? Exchange.Stale : await BackendFailedAsync(server, ex.Message, 502).ConfigureAwait(false);
                }

                if (_clientLeft)
                {
                    input.AdvanceTo(result.Buffer.Start);
                    _frontend.Counters?.ClientAborted(_client.WorkerIndex, server);
                    DropBackend();
                    return Exchange.Close;
                }

                var buffer = result.Buffer;
                var status = ForwardResponseHead(buffer, out response, out var reason);
                if (status == HttpParseStatus.Error)
                {
                    return await BackendFailedAsync(server, reason!, 502).ConfigureAwait(false);
                }

                if (status == HttpParseStatus.NeedMoreData)
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                    if (replayable && first && result.IsCompleted && buffer.IsEmpty)
                    {
                        return Exchange.Stale;
                    }

                    if (result.IsCompleted)
                    {
                        return await BackendFailedAsync(server, "the connection closed before a complete response head", 502).ConfigureAwait(false);
                    }

                    continue; // also after a read cancelled by a graceful shutdown: the response in flight is still wanted
                }

                _bytesOut += buffer.Slice(0, response.Consumed).Length;
                input.AdvanceTo(response.Consumed);
                if (response.Status != 0)
                {
                    _frontend.Counters?.Response(_client.WorkerIndex, server, response.Status);
                }

                if (!response.IsInterim)
                {
                    break;
                }

                await _output.FlushAsync().ConfigureAwait(true);
            }
        }
        finally
        {
            watch.Dispose();
        }

        var end = BodyEnd.Complete;
        if (response.Body != BodyKind.None)
        {
            try
            {
                end = await PumpBodyAsync(input, _output, response.Body, response.ContentLength, response.Rechunk, fromBackend: true).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or IOException)
            {
                end = BodyEnd.Truncated;
            }
        }

        var flush = await _output.FlushAsync().ConfigureAwait(true);
        if (end == BodyEnd.Complete && response.BackendKeepAlive)
        {
            KeepBackend(server);
        }

        DropBackend();
        return end == BodyEnd.Complete && response.ClientKeepAlive && !flush.IsCompleted ? Exchange.KeepAlive : Exchange.Close;
    }

    /// <summary>
    /// Parses the head at the start of <paramref name="buffer"/> and, when complete and valid, writes it to the client:
    /// status line, forwarded fields, framing, Connection when needed, end of head.
    /// </summary>
    private HttpParseStatus ForwardResponseHead(in ReadOnlySequence<byte> buffer, out ResponseInfo response, out string? reason)
    {
        response = default;
        byte[] scratch = Scratch;
        var status = _responseHead.TryParse(s_responses, buffer, scratch, _request.Method, out HttpResponseHead head);
        reason = head.Error?.Reason;
        if (status != HttpParseStatus.Complete)
        {
            return status;
        }

        if (head.StatusCode == 100 && _request.ExpectContinue)
        {
            // The proxy has already sent its own 100 Continue; the backend's would be a second one.
            response = new ResponseInfo(head.Consumed, IsInterim: true, BodyKind.None, 0, false, false, false, Status: 0);
            return status;
        }

        if (head.StatusCode == 101)
        {
            // Upgrade was removed from the request as hop-by-hop, so a 101 is a backend that did not listen.
            reason = "101 Switching Protocols to a request without Upgrade";
            return HttpParseStatus.Error;
        }

        if (_responseHead.Error is { } fieldsError)
        {
            reason = fieldsError.Reason;
            return HttpParseStatus.Error;
        }

        // The one parse above recorded the fields; the status line and the fields to keep are written in one pass.
        _responseHead.WriteStatusAndFields(buffer, scratch, _output);
        if (head.IsInterim)
        {
            HttpForwardingWriter.WriteEndOfHeaders(_output);
            response = new ResponseInfo(head.Consumed, IsInterim: true, BodyKind.None, 0, false, false, false, head.StatusCode);
            return status;
        }

        bool http11 = _request.Version == HttpVersion.Http11;
        var body = BodyKind.None;
        bool closeAfter = false;
        bool rechunk = false;
        switch (head.Framing)
        {
            case HttpBodyFraming.None:
                if (head.ContentLength >= 0 && head.StatusCode != 204)
                {
                    HttpForwardingWriter.WriteContentLength(_output, head.ContentLength); // HEAD and 304 keep it
                }

                break;
            case HttpBodyFraming.ContentLength:
                HttpForwardingWriter.WriteContentLength(_output, head.ContentLength);
                body = head.ContentLength > 0 ? BodyKind.Length : BodyKind.None;
                break;
            case HttpBodyFraming.Chunked:
                body = BodyKind.Chunked;
                rechunk = http11;
                closeAfter = !http11; // an HTTP/1.0 client gets the decoded body delimited by the close
                if (rechunk)
                {
                    HttpForwardingWriter.WriteChunked(_output);
                }

                break;
            default:
                body = BodyKind.UntilClose;
                closeAfter = true;
                break;
        }

        bool clientKeepAlive = _request.KeepAlive && !closeAfter;
        if (!clientKeepAlive)
        {
            HttpForwardingWriter.WriteConnectionClose(_output);
        }
        else if (!http11)
        {
            _output.Write("Connection: keep-alive\r\n"u8);
        }

        HttpForwardingWriter.WriteEndOfHeaders(_output);
        bool backendKeepAlive = head.KeepAlive && head.Framing != HttpBodyFraming.CloseDelimited;
        response = new ResponseInfo(head.Consumed, IsInterim: false, body, head.ContentLength, rechunk, backendKeepAlive, clientKeepAlive, head.StatusCode);
        return status;
    }

    /// <summary>
    /// A backend read bounded by the server timeout. The deadline lives on the worker's timer wheel and is armed only
    /// when the read has to wait.
    /// </summary>
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult> ReadBackendAsync(PipeReader input)
    {
        var pending = input.ReadAsync();
        if (pending.IsCompleted)
        {
            return pending.Result;
        }

        var backend = _backend!;
        backend.SetReadDeadline(_frontend.Timeouts.Server);
        ReadResult result;
        bool timedOut;
        try
        {
            result = await pending.ConfigureAwait(true);
        }
        finally
        {
            timedOut = backend.ReadTimedOut;
            backend.ClearReadDeadline();
        }

        if (result.IsCanceled && timedOut)
        {
            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            throw new TimeoutException();
        }

        return result;
    }

    private readonly record struct ResponseInfo(
        SequencePosition Consumed, bool IsInterim, BodyKind Body, long ContentLength, bool Rechunk, bool BackendKeepAlive, bool ClientKeepAlive, int Status);
}
