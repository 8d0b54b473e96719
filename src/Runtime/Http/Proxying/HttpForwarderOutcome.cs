namespace Fastsock.Http.Proxying;

/// <summary>How one exchange forwarded by <see cref="HttpExchangeForwarder"/> ended, and what each connection is good for now.</summary>
public readonly struct HttpForwarderOutcome
{
    internal HttpForwarderOutcome(
        HttpForwarderError error, int statusCode, int answerStatus, bool clientKeepAlive, bool backendReusable, bool canRetry, string? reason,
        bool backendDrained = false, bool upgraded = false)
    {
        Upgraded = upgraded;
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

    /// <summary>
    /// The request asked for an upgrade (<see cref="HttpExchangeForwarder.RequestIsUpgrade"/>) and the backend switched
    /// protocols: its 101 was forwarded (<see cref="StatusCode"/> 101) and both connections now speak the new protocol.
    /// Neither is good for HTTP any more (<see cref="ClientKeepAlive"/> and <see cref="BackendReusable"/> are false):
    /// the caller forwards bytes both ways between them (<see cref="Fastsock.Transport.ConnectionForwarder"/>), the
    /// bytes already in either input pipe first, until both sides are done.
    /// </summary>
    public bool Upgraded { get; }

    /// <summary>Why the exchange failed, for the log; null when it did not.</summary>
    public string? Reason { get; }

    internal static HttpForwarderOutcome Retry(string reason) => Retry(HttpForwarderError.Request, 502, reason);

    internal static HttpForwarderOutcome Retry(HttpForwarderError error, int answerStatus, string reason) =>
        new(error, 0, answerStatus, false, false, canRetry: true, reason);

    /// <summary>This outcome, no longer retryable: the caller gave up on sending the request again.</summary>
    public HttpForwarderOutcome Final() => new(Error, StatusCode, AnswerStatus, ClientKeepAlive, BackendReusable, canRetry: false, Reason, BackendDrained, Upgraded);

    /// <summary>The backend answered 101 to a request that asked for an upgrade, and the 101 reached the client's output.</summary>
    internal static HttpForwarderOutcome SwitchedProtocols() =>
        new(HttpForwarderError.None, 101, 0, false, false, canRetry: false, reason: null, upgraded: true);

    /// <summary>The client left while its response was awaited; <paramref name="backendReusable"/>: the response was read to its end and discarded.</summary>
    internal static HttpForwarderOutcome ClientAborted(bool backendReusable) =>
        new(HttpForwarderError.ClientAborted, 0, 0, false, backendReusable, canRetry: false, "the client left before its response", backendDrained: backendReusable);

    internal static HttpForwarderOutcome Failed(HttpForwarderError error, int answerStatus, string? reason) =>
        new(error, 0, answerStatus, false, false, canRetry: false, reason);

    /// <summary>The outcome in one line, for logs.</summary>
    public override string ToString() =>
        Upgraded ? "101, upgraded" : Error == HttpForwarderError.None ? $"{StatusCode}, keep-alive {ClientKeepAlive}" : $"{Error} ({Reason}), answer {AnswerStatus}";
}
