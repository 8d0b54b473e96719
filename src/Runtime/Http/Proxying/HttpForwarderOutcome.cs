namespace Fastsock.Http.Proxying;

/// <summary>How one exchange forwarded by <see cref="HttpExchangeForwarder"/> ended, and what each connection is good for now.</summary>
public readonly struct HttpForwarderOutcome
{
    internal HttpForwarderOutcome(
        HttpForwarderError error, int statusCode, int answerStatus, bool clientKeepAlive, bool backendReusable, bool canRetry, string? reason,
        bool backendDrained = false)
    {
        BackendDrained = backendDrained;
        Error = error;
        StatusCode = statusCode;
        AnswerStatus = answerStatus;
        ClientKeepAlive = clientKeepAlive;
        BackendReusable = backendReusable;
        CanRetry = canRetry;
        Reason = reason;
    }

    /// <summary>Which step failed; <see cref="HttpForwarderError.None"/> when the exchange completed.</summary>
    public HttpForwarderError Error { get; }

    /// <summary>The final status the backend answered and the client was sent; 0 when none was.</summary>
    public int StatusCode { get; }

    /// <summary>
    /// The status the caller should answer the client with itself (400, 502, 504), then close; 0 when nothing is to be
    /// answered (the response is complete or already started, or the client is gone).
    /// </summary>
    public int AnswerStatus { get; }

    /// <summary>Whether the client connection can carry its next request.</summary>
    public bool ClientKeepAlive { get; }

    /// <summary>Whether the backend connection finished cleanly and may serve another request; when false, close it.</summary>
    public bool BackendReusable { get; }

    /// <summary>
    /// The client left (<see cref="HttpForwarderError.ClientAborted"/> before the response head,
    /// <see cref="HttpForwarderError.ResponseBodyClient"/> inside its body) and the response was nonetheless read to its
    /// end, the part nobody took discarded (at most <see cref="HttpForwarderOptions.MaxDrainBody"/> bytes from where the
    /// client left): the backend connection is <see cref="BackendReusable"/> although its exchange failed.
    /// </summary>
    public bool BackendDrained { get; }

    /// <summary>
    /// The exchange was forwarded as replayable and failed before any response byte (the connection died:
    /// <see cref="HttpForwarderError.Request"/>; or no byte came within the timeout: <see cref="HttpForwarderError.RequestTimedOut"/>),
    /// and the request has no body or its body is in hand: it can be forwarded again, on a new connection, with another
    /// call to <see cref="HttpExchangeForwarder.ForwardAsync"/>. The request stays held in the client's input until
    /// then, or until <see cref="HttpExchangeForwarder.ReleaseRequest"/> (a caller that does not retry releases it and
    /// answers <see cref="AnswerStatus"/>).
    /// </summary>
    public bool CanRetry { get; }

    /// <summary>Why the exchange failed, for the log; null when it did not.</summary>
    public string? Reason { get; }

    internal static HttpForwarderOutcome Retry(string reason) => Retry(HttpForwarderError.Request, 502, reason);

    internal static HttpForwarderOutcome Retry(HttpForwarderError error, int answerStatus, string reason) =>
        new(error, 0, answerStatus, false, false, canRetry: true, reason);

    /// <summary>This outcome, no longer retryable: the caller gave up on sending the request again.</summary>
    public HttpForwarderOutcome Final() => new(Error, StatusCode, AnswerStatus, ClientKeepAlive, BackendReusable, canRetry: false, Reason, BackendDrained);

    /// <summary>The client left while its response was awaited; <paramref name="backendReusable"/>: the response was read to its end and discarded.</summary>
    internal static HttpForwarderOutcome ClientAborted(bool backendReusable) =>
        new(HttpForwarderError.ClientAborted, 0, 0, false, backendReusable, canRetry: false, "the client left before its response", backendDrained: backendReusable);

    internal static HttpForwarderOutcome Failed(HttpForwarderError error, int answerStatus, string? reason) =>
        new(error, 0, answerStatus, false, false, canRetry: false, reason);

    /// <summary>The outcome in one line, for logs.</summary>
    public override string ToString() =>
        Error == HttpForwarderError.None ? $"{StatusCode}, keep-alive {ClientKeepAlive}" : $"{Error} ({Reason}), answer {AnswerStatus}";
}
