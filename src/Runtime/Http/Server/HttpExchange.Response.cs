using System.Buffers;
using System.IO.Pipelines;

namespace Fastsock.Http.Server;

/// <summary>The response side: one response per request, with the Connection field and HEAD rules applied here.</summary>
public sealed partial class HttpExchange
{
    private ResponseState _response;
    private bool _responseKeepAlive;
    private bool _responseHasBody;
    private long _declaredLength;
    private long _bodyWritten;

    private enum ResponseState : byte
    {
        NotStarted,
        HeadersOpen,
        Body,
    }

    /// <summary>Whether the response started so far keeps the connection open (decided when it starts).</summary>
    public bool KeepAlive => _response == ResponseState.NotStarted ? DecideKeepAlive() : _responseKeepAlive;

    /// <summary>Whether the response has been started.</summary>
    public bool HasStarted => _response != ResponseState.NotStarted;

    /// <summary>
    /// A whole response with a Content-Length. For HEAD the headers say the length the body would have, and the body
    /// is not sent.
    /// </summary>
    /// <param name="statusCode">The response status.</param>
    /// <param name="contentType">Sent when not empty.</param>
    /// <param name="body">Must be empty for 204 and 304.</param>
    public void WriteResponse(int statusCode, ReadOnlySpan<byte> contentType, ReadOnlySpan<byte> body)
    {
        if (_method == RequestMethod.Head)
        {
            StartResponse(statusCode, contentType, body.Length);
            EndHeaders();
            _bodyWritten = body.Length;
            return;
        }

        BeginResponse(statusCode);
        HttpResponseWriter.WriteResponse(_output, statusCode, contentType, body, _responseKeepAlive, _version);
        _response = ResponseState.Body;
        _declaredLength = _bodyWritten = body.Length;
        _owner.OutputPending = true;
    }

    /// <summary>An error status whose body is its reason phrase, as text/plain.</summary>
    public void WriteError(int statusCode) => WriteResponse(statusCode, "text/plain"u8, HttpResponseWriter.ReasonPhrase(statusCode));

    /// <summary>
    /// Starts a response of <paramref name="contentLength"/> body bytes: status line, Server, Date, Content-Type (when
    /// not empty), Content-Length and the Connection field. Add fields with <see cref="WriteHeader"/>, then write
    /// exactly that many bytes with <see cref="WriteBody"/> (HEAD: they are dropped, and may be left out).
    /// </summary>
    public void StartResponse(int statusCode, ReadOnlySpan<byte> contentType, long contentLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(contentLength);
        BeginResponse(statusCode);
        _responseHasBody = statusCode != 204 && statusCode != 304;
        if (!_responseHasBody && contentLength != 0)
        {
            throw new ArgumentException($"A {statusCode} response has no body; pass a content length of 0.", nameof(contentLength));
        }

        HttpResponseWriter.WriteStatusLine(_output, statusCode);
        HttpResponseWriter.WriteServer(_output);
        HttpResponseWriter.WriteDate(_output);
        if (!contentType.IsEmpty)
        {
            HttpResponseWriter.WriteHeader(_output, "Content-Type"u8, contentType);
        }

        if (_responseHasBody)
        {
            HttpResponseWriter.WriteContentLength(_output, contentLength);
        }

        if (!_responseKeepAlive)
        {
            HttpResponseWriter.WriteConnectionClose(_output);
        }
        else if (_version == HttpVersion.Http10)
        {
            HttpResponseWriter.WriteHeader(_output, "Connection"u8, "keep-alive"u8); // RFC 9112 §9.3: a 1.0 client needs the echo
        }

        _response = ResponseState.HeadersOpen;
        _declaredLength = contentLength;
        _bodyWritten = 0;
        _owner.OutputPending = true;
    }

    /// <summary>One more header field of the started response, before its body.</summary>
    public void WriteHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (_response != ResponseState.HeadersOpen)
        {
            throw new InvalidOperationException("WriteHeader needs a response started with StartResponse and no body written yet.");
        }

        HttpResponseWriter.WriteHeader(_output, name, value);
    }

    /// <summary>Body bytes of the started response; they must not exceed its Content-Length.</summary>
    public void WriteBody(ReadOnlySpan<byte> data)
    {
        if (_response == ResponseState.NotStarted)
        {
            throw new InvalidOperationException("WriteBody needs a response started with StartResponse.");
        }

        if (_bodyWritten + data.Length > _declaredLength)
        {
            throw new InvalidOperationException($"The response body would exceed its Content-Length of {_declaredLength} bytes; start it with the full length.");
        }

        EndHeaders();
        _bodyWritten += data.Length;
        if (_method != RequestMethod.Head && !data.IsEmpty)
        {
            _output.Write(data);
        }
    }

    /// <summary>Sends what was written so far, for a large body written in parts.</summary>
    public ValueTask<FlushResult> FlushAsync()
    {
        EndHeaders();
        _owner.OutputPending = false;
        return _output.FlushAsync();
    }

    /// <summary>
    /// Completes the response after the application returned: an empty 200 when it wrote none, the end of the headers
    /// when still open. Returns whether the connection stays open.
    /// </summary>
    /// <exception cref="InvalidOperationException">Fewer body bytes than the Content-Length were written.</exception>
    internal bool Finish()
    {
        if (_response == ResponseState.NotStarted)
        {
            WriteResponse(200, default, default);
        }

        EndHeaders();
        if (_method != RequestMethod.Head && _bodyWritten != _declaredLength)
        {
            throw new InvalidOperationException(
                $"The application wrote {_bodyWritten} of the {_declaredLength} body bytes it announced in Content-Length; write them all before returning.");
        }

        return _responseKeepAlive;
    }

    /// <summary>Whether the response is complete on the output (its body all written).</summary>
    internal bool IsResponseComplete =>
        _response != ResponseState.NotStarted && (_method == RequestMethod.Head || _bodyWritten == _declaredLength);

    private void ResetResponse()
    {
        _response = ResponseState.NotStarted;
        _responseKeepAlive = false;
        _declaredLength = _bodyWritten = 0;
    }

    private void BeginResponse(int statusCode)
    {
        if (_response != ResponseState.NotStarted)
        {
            throw new InvalidOperationException("A response was already started for this request; write one response per request.");
        }

        if (statusCode is < 200 or > 999)
        {
            throw new ArgumentOutOfRangeException(nameof(statusCode), statusCode, "The loop writes final responses only: use a status from 200 to 999.");
        }

        _responseKeepAlive = DecideKeepAlive();
    }

    /// <summary>
    /// RFC 9112 §9.3 as the parser summarised it (<see cref="HttpRequestHead.KeepAlive"/>), and two more reasons to close:
    /// the server is shutting down, or the client still holds back a body it was never told to send (RFC 9110 §10.1.1:
    /// it may or may not send it now, so its next bytes could be either).
    /// </summary>
    private bool DecideKeepAlive() =>
        _requestKeepAlive
        && !_owner.Connection.IsShutdownRequested
        && !(_expectContinue && !_owner.ContinueSent && !_owner.BodyComplete);

    private void EndHeaders()
    {
        if (_response == ResponseState.HeadersOpen)
        {
            HttpResponseWriter.WriteEndOfHeaders(_output);
            _response = ResponseState.Body;
        }
    }
}
