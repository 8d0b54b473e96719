namespace Fastsock.Http.Proxying;

/// <summary>
/// What stopped one forwarded exchange, named after the step and the side that failed: the client, or the destination
/// (the backend). <see cref="HttpForwarderOutcome.AnswerStatus"/> says whether the proxy still has to answer.
/// </summary>
public enum HttpForwarderError : byte
{
    /// <summary>The exchange completed; see <see cref="HttpForwarderOutcome.ClientKeepAlive"/> for what comes next.</summary>
    None,

    /// <summary>
    /// The backend's connection closed or reset under the request, before any response byte (while sending it, or
    /// while waiting for the answer): answer 502, unless <see cref="HttpForwarderOutcome.CanRetry"/> says the request
    /// can go again on another connection.
    /// </summary>
    Request,

    /// <summary>The client ended or reset inside its request body: there is nobody to answer.</summary>
    RequestBodyClient,

    /// <summary>The client's chunked request body was malformed: answer <see cref="HttpForwarderOutcome.AnswerStatus"/> (400).</summary>
    RequestBodyInvalid,

    /// <summary>The backend stopped reading the request body; the exchange is abandoned without an answer.</summary>
    RequestBodyDestination,

    /// <summary>No response head arrived within <see cref="HttpForwarderOptions.ResponseTimeout"/>: answer 504.</summary>
    RequestTimedOut,

    /// <summary>The response head was invalid, or the backend's connection ended inside it: answer 502.</summary>
    ResponseHeaders,

    /// <summary>The client left while its response was awaited (<see cref="HttpForwarderOptions.AbortOnClose"/>); the backend request was abandoned.</summary>
    ClientAborted,

    /// <summary>The backend failed inside the response body (ended early, malformed chunks): the response is cut short.</summary>
    ResponseBodyDestination,

    /// <summary>
    /// The client stopped reading the response (its connection failed under a write); the rest of the body may have been
    /// discarded to keep the backend connection (<see cref="HttpForwarderOutcome.BackendDrained"/>).
    /// </summary>
    ResponseBodyClient,

    /// <summary>
    /// The backend sent no byte of the response body for <see cref="HttpForwarderOptions.ResponseTimeout"/>, copied or
    /// spliced: the response is cut short and the backend connection closed.
    /// </summary>
    ResponseBodyTimedOut,
}
