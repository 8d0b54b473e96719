using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Fastsock.Engine;
using Fastsock.Transport;
using Fastsock.Transport.Tls;

namespace Fastsock.Http.Proxying;

// 5-7. The response: interim 1xx heads forwarded as they come, the final head with hop-by-hop fields removed and the
// framing the client can read, the body, and what both connections are good for afterwards.
public sealed partial class HttpExchangeForwarder
{
    private const string ClosedBeforeHead = "the connection closed before a complete response head";

    /// <summary>5-7, then the end of the exchange (<see cref="Finish"/>).</summary>
    /// <remarks>
    /// The backend read is awaited here, not in a step of its own (<see cref="ReadBackendAsync"/> is the same read for
    /// bodies), and a body of known length that came with the head is copied without reading again: one suspended async
    /// level per exchange instead of three.
    /// </remarks>
    [AsyncMethodBuilder(typeof(WorkerPoolingValueTaskMethodBuilder<>))]
    private async ValueTask<HttpForwarderOutcome> ReceiveResponseAsync(bool replayable)
    {
        var backend = _backend!;
        var input = backend.Transport.Input;
        ResponsePlan response;
        bool bodyForwarded = false;
        bool clientLeft = false;
        var watch = _options.AbortOnClose ? WatchClient() : default;
        try
        {
            for (bool first = true; ; first = false)
            {
                ReadResult result;
                try
                {
                    var pending = input.ReadAsync();
                    if (pending.IsCompleted)
                    {
                        result = pending.Result;
                    }
                    else
                    {
                        // The response timeout lives on the worker's timer wheel, armed only when the read has to wait.
                        if (_options.HasResponseTimeout)
                        {
                            backend.SetReadDeadline(_options.ResponseTimeout);
                        }

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
                            // Nothing at all came back: a request still held may go elsewhere if the caller allows it.
                            bool nothing = replayable && first && result.Buffer.IsEmpty;
                            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                            string late = $"no response within {_options.ResponseTimeout.TotalMilliseconds} ms";
                            return Finish(nothing
                                ? HttpForwarderOutcome.Retry(HttpForwarderError.RequestTimedOut, 504, late)
                                : HttpForwarderOutcome.Failed(HttpForwarderError.RequestTimedOut, 504, late));
                        }
                    }
                }
                catch (IOException ex)
                {
                    // On the first read nothing came back: the connection died under the request, not inside a head. A TLS
                    // record the server got wrong is an answer, though a bad one: like a bad head, never sent again.
                    bool answered = !first || TlsLayer.RecordFailureOf(backend) != TlsClientRecordFailure.None;
                    return Finish(answered ? HttpForwarderOutcome.Failed(HttpForwarderError.ResponseHeaders, 502, ex.Message)
                        : replayable ? HttpForwarderOutcome.Retry(ex.Message)
                        : HttpForwarderOutcome.Failed(HttpForwarderError.Request, 502, ex.Message));
                }

                if (_clientLeft)
                {
                    input.AdvanceTo(result.Buffer.Start);
                    clientLeft = true;
                    response = default;
                    break;
                }

                var buffer = result.Buffer;
                var status = ForwardResponseHead(buffer, out response, out var reason);
                if (status == HttpParseStatus.Error)
                {
                    input.AdvanceTo(buffer.Start);
                    return Finish(HttpForwarderOutcome.Failed(HttpForwarderError.ResponseHeaders, 502, reason));
                }

                if (status == HttpParseStatus.NeedMoreData)
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                    if (replayable && first && result.IsCompleted && buffer.IsEmpty)
                    {
                        return Finish(HttpForwarderOutcome.Retry(ClosedBeforeHead));
                    }

                    if (result.IsCompleted)
                    {
                        var ended = first && buffer.IsEmpty ? HttpForwarderError.Request : HttpForwarderError.ResponseHeaders;
                        return Finish(HttpForwarderOutcome.Failed(ended, 502, ClosedBeforeHead));
                    }

                    continue; // also after a read cancelled by a graceful shutdown: the response in flight is still wanted
                }

                // The response has started: the request can no longer be sent again.
                replayable = false;
                ReleaseRequest();
                _bytesFromBackend += buffer.Slice(0, response.Consumed).Length;
                if (response.Status != 0)
                {
                    _observer?.OnResponseHead(response.Status);
                }

                if (response.Upgraded)
                {
                    // Bytes after the 101 head are the new protocol's: they stay in the input for the tunnel.
                    input.AdvanceTo(response.Consumed);
                    break;
                }

                if (!response.IsInterim)
                {
                    bodyForwarded = TryCopyBufferedBody(input, buffer, response);
                    if (!bodyForwarded)
                    {
                        input.AdvanceTo(response.Consumed);
                    }

                    break;
                }

                input.AdvanceTo(response.Consumed);
                await _output.FlushAsync().ConfigureAwait(true);
            }
        }
        finally
        {
            watch.Dispose();
        }

        if (clientLeft)
        {
            // The request is with the server: reading its answer to the end keeps the connection for the next client.
            bool kept = _options.MaxDrainBody > 0 && await DiscardResponseAsync(input).ConfigureAwait(false);
            return Finish(HttpForwarderOutcome.ClientAborted(kept));
        }

        if (response.Upgraded)
        {
            var flushed = await _output.FlushAsync().ConfigureAwait(true);
            return Finish(flushed.IsCompleted
                ? new HttpForwarderOutcome(HttpForwarderError.ResponseBodyClient, 101, 0, false, false, canRetry: false, "the client left before its 101 was sent")
                : HttpForwarderOutcome.SwitchedProtocols());
        }

        var end = BodyEnd.Complete;
        if (!bodyForwarded && response.Framing != HttpBodyFraming.None)
        {
            try
            {
                end = await ForwardBodyAsync(response.Framing, response.ContentLength, response.Rechunk, fromBackend: true).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                end = BodyEnd.SourceTimedOut;
            }
            catch (IOException)
            {
                end = BodyEnd.SourceEnded;
            }
        }

        var flush = await _output.FlushAsync().ConfigureAwait(true);
        bool complete = end == BodyEnd.Complete;
        var error = end switch
        {
            BodyEnd.Complete => flush.IsCompleted ? HttpForwarderError.ResponseBodyClient : HttpForwarderError.None,
            BodyEnd.DestinationClosed or BodyEnd.DestinationClosedDrained => HttpForwarderError.ResponseBodyClient,
            BodyEnd.SourceTimedOut => HttpForwarderError.ResponseBodyTimedOut,
            _ => HttpForwarderError.ResponseBodyDestination,
        };

        // The server's message ended where it should, whether or not the client took it all: the connection is clean.
        bool backendReusable = (complete || end == BodyEnd.DestinationClosedDrained) && response.BackendKeepAlive;
        string? why = error switch
        {
            HttpForwarderError.None => null,
            HttpForwarderError.ResponseBodyClient => "the client stopped reading the response",
            HttpForwarderError.ResponseBodyTimedOut => $"no byte of the response body within {_options.ResponseTimeout.TotalMilliseconds} ms",
            _ => end == BodyEnd.Invalid ? _chunks?.Error?.Reason ?? "invalid chunked body" : "the server ended inside the response body",
        };
        return Finish(new HttpForwarderOutcome(
            error, response.Status, answerStatus: 0, clientKeepAlive: complete && response.ClientKeepAlive && !flush.IsCompleted,
            backendReusable, canRetry: false, why, backendDrained: backendReusable && error == HttpForwarderError.ResponseBodyClient));
    }

    /// <summary>
    /// A body of known length that arrived whole with its head (the usual small response) is copied to the client from
    /// this read, and the backend's input advanced past it; false: <see cref="ForwardBodyAsync"/> reads it (or there is none).
    /// </summary>
    private bool TryCopyBufferedBody(PipeReader input, in ReadOnlySequence<byte> buffer, in ResponsePlan response)
    {
        if (response.Framing != HttpBodyFraming.ContentLength
            || (response.ContentLength >= _options.SpliceThreshold && _options.Forwarding != ForwardingMode.Copy))
        {
            return false;
        }

        var rest = buffer.Slice(response.Consumed);
        if (rest.Length < response.ContentLength)
        {
            return false;
        }

        var body = rest.Slice(0, response.ContentLength);
        Copy(body, _output);
        _bytesFromBackend += response.ContentLength;
        input.AdvanceTo(body.End); // whatever follows is not examined: the next read sees it at once
        return true;
    }

    /// <summary>
    /// Parses the head at the start of <paramref name="buffer"/> and, when complete and valid, writes it to the client:
    /// status line, forwarded fields, framing, Connection when needed, end of head.
    /// </summary>
    private HttpParseStatus ForwardResponseHead(in ReadOnlySequence<byte> buffer, out ResponsePlan response, out string? reason)
    {
        response = default;
        byte[] scratch = Scratch;
        var responseHead = ResponseHeadFor();
        var status = responseHead.TryParse(s_responses, buffer, scratch, _request.Method, out HttpResponseHead head);
        reason = head.Error?.Reason;
        if (status != HttpParseStatus.Complete)
        {
            return status;
        }

        if (head.StatusCode == 100 && _request.ExpectContinue)
        {
            // The proxy has already sent its own 100 Continue; the backend's would be a second one.
            response = new ResponsePlan(head.Consumed, IsInterim: true, HttpBodyFraming.None, 0, false, false, false, Status: 0);
            return status;
        }

        if (head.StatusCode == 101 && !_request.Upgrade)
        {
            // Upgrade was removed from the request as hop-by-hop, so a 101 is a backend that did not listen.
            reason = "101 Switching Protocols to a request without Upgrade";
            return HttpParseStatus.Error;
        }

        if (responseHead.Error is { } fieldsError)
        {
            reason = fieldsError.Reason;
            return HttpParseStatus.Error;
        }

        if (head.StatusCode == 101)
        {
            return ForwardSwitchingProtocols(responseHead, buffer, head, scratch, out response, out reason);
        }

        // The one parse above recorded the fields; the status line and the fields to keep are written in one pass.
        responseHead.WriteStatusAndFields(buffer, scratch, _output);
        if (head.IsInterim)
        {
            HttpForwardingWriter.WriteEndOfHeaders(_output);
            response = new ResponsePlan(head.Consumed, IsInterim: true, HttpBodyFraming.None, 0, false, false, false, head.StatusCode);
            return status;
        }

        bool http11 = _request.Version == HttpVersion.Http11;
        var framing = head.Framing;
        bool closeAfter = false;
        bool rechunk = false;
        switch (framing)
        {
            case HttpBodyFraming.None:
                if (head.ContentLength >= 0 && head.StatusCode != 204)
                {
                    HttpForwardingWriter.WriteContentLength(_output, head.ContentLength); // HEAD and 304 keep it
                }

                break;
            case HttpBodyFraming.ContentLength:
                HttpForwardingWriter.WriteContentLength(_output, head.ContentLength);
                if (head.ContentLength == 0)
                {
                    framing = HttpBodyFraming.None;
                }

                break;
            case HttpBodyFraming.Chunked:
                rechunk = http11;
                closeAfter = !http11; // an HTTP/1.0 client gets the decoded body delimited by the close
                if (rechunk)
                {
                    HttpForwardingWriter.WriteChunked(_output);
                }

                break;
            default:
                closeAfter = true;
                break;
        }

        bool clientKeepAlive = _request.KeepAlive && !closeAfter && !_client.IsShutdownRequested; // a draining server says so
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
        response = new ResponsePlan(head.Consumed, IsInterim: false, framing, head.ContentLength, rechunk, backendKeepAlive, clientKeepAlive, head.StatusCode);
        return status;
    }

    /// <summary>
    /// A 101 to a request that asked for an upgrade: forwarded with its Upgrade field and <c>Connection: upgrade</c>
    /// (RFC 9110 §15.2.2 requires the field; without it the answer is 502). After it both connections carry the new
    /// protocol: the exchange ends <see cref="HttpForwarderOutcome.Upgraded"/> and the caller tunnels them.
    /// </summary>
    private HttpParseStatus ForwardSwitchingProtocols(
        HttpResponseHeadForwarder responseHead, in ReadOnlySequence<byte> buffer, in HttpResponseHead head, byte[] scratch, out ResponsePlan response, out string? reason)
    {
        response = default;
        reason = null;
        if (!responseHead.HasUpgrade)
        {
            reason = "101 Switching Protocols without an Upgrade field";
            return HttpParseStatus.Error;
        }

        responseHead.WriteStatusAndFields(buffer, scratch, _output);
        _output.Write("Connection: upgrade\r\n"u8);
        HttpForwardingWriter.WriteEndOfHeaders(_output);
        response = new ResponsePlan(head.Consumed, IsInterim: false, HttpBodyFraming.None, 0, false, false, false, head.StatusCode, Upgraded: true);
        return HttpParseStatus.Complete;
    }

    /// <summary>
    /// A backend read bounded by the response timeout. The deadline lives on the worker's timer wheel and is armed only
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
        if (_options.HasResponseTimeout)
        {
            backend.SetReadDeadline(_options.ResponseTimeout);
        }

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

    /// <summary>The final (or interim) response head as forwarded: how its body is delimited and what comes after it.</summary>
    private readonly record struct ResponsePlan(
        SequencePosition Consumed, bool IsInterim, HttpBodyFraming Framing, long ContentLength, bool Rechunk, bool BackendKeepAlive,
        bool ClientKeepAlive, int Status, bool Upgraded = false);
}
