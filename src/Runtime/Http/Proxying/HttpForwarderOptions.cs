using System.Text;
using Fastsock.Transport;

namespace Fastsock.Http.Proxying;

/// <summary>How an <see cref="HttpExchangeForwarder"/> forwards; one instance can serve every connection of a frontend.</summary>
public sealed class HttpForwarderOptions
{
    private readonly string _forwardedProto = "http";

    /// <summary>
    /// How long the backend may take to start a response, and then to send the next bytes of its body, whether the body
    /// is copied or spliced (from <see cref="SpliceThreshold"/> on): a wait for the backend's next byte, not a deadline
    /// for the whole body, so a slow download that keeps moving is not cut. A body that stalls longer ends the exchange
    /// with <see cref="HttpForwarderError.ResponseBodyTimedOut"/> (the response cut short, the backend connection closed).
    /// Request bodies are not bounded by it: the client connection's idle timeout bounds them.
    /// <see cref="Timeout.InfiniteTimeSpan"/>: no timeout (the backend connection's idle timeout alone bounds the wait).
    /// Zero or another negative value is refused with an <see cref="ArgumentOutOfRangeException"/> when the options are
    /// given to an <see cref="HttpExchangeForwarder"/>, as Kestrel and YARP refuse such timeouts.
    /// </summary>
    public TimeSpan ResponseTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The largest request body kept for a replay: a Content-Length body up to this size that arrived whole with its
    /// head is sent from the read buffer and can go again to another connection if the first one fails before any
    /// response byte (<see cref="HttpExchangeForwarder.RequestIsReplayable"/>); a larger one, or one still arriving, is
    /// streamed and never sent twice. 0: only requests without a body are replayable.
    /// </summary>
    public long MaxReplayBody { get; init; } = 16 * 1024;

    /// <summary>The smallest Content-Length spliced socket to socket rather than copied (when <see cref="Forwarding"/> allows it).</summary>
    public long SpliceThreshold { get; init; } = 64 * 1024;

    /// <summary>How bodies of known length from <see cref="SpliceThreshold"/> on move: <see cref="ForwardingMode.Copy"/> never splices.</summary>
    public ForwardingMode Forwarding { get; init; } = ForwardingMode.Auto;

    /// <summary>
    /// True (nginx's way): a client whose FIN arrives while its response is awaited has left, and the exchange ends with
    /// <see cref="HttpForwarderError.ClientAborted"/>. False (HAProxy's default): a half-closed client still gets its response.
    /// </summary>
    public bool AbortOnClose { get; init; } = true;

    /// <summary>
    /// The most bytes of a response read and discarded after its client left, so that the backend connection ends clean
    /// and can be pooled, as HAProxy does (<see cref="HttpForwarderOutcome.BackendDrained"/>): the whole response (heads
    /// and body) when the client left before its head (<see cref="HttpForwarderError.ClientAborted"/>), the rest of the
    /// body from where the client left when it left inside it (<see cref="HttpForwarderError.ResponseBodyClient"/>). More
    /// than that (a Content-Length above it is known at once), a close-delimited response, or one that does not end within
    /// <see cref="ResponseTimeout"/> per read closes the connection. A spliced body counts from the last byte the client
    /// got, the bytes in the splice's kernel pipe included. 0: always close.
    /// </summary>
    public long MaxDrainBody { get; init; } = 64 * 1024;

    /// <summary>The X-Forwarded-Proto value added to requests that have none: <c>http</c> or <c>https</c>.</summary>
    public string ForwardedProto
    {
        get => _forwardedProto;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Length is 0 or > 16 || !HttpSyntax.IsToken(Encoding.ASCII.GetBytes(value)))
            {
                throw new ArgumentException($"X-Forwarded-Proto must be a scheme such as http or https, not '{value}'.", nameof(value));
            }

            _forwardedProto = value;
        }
    }

    /// <summary>Whether <see cref="ResponseTimeout"/> bounds the backend's reads (it is not infinite).</summary>
    internal bool HasResponseTimeout => ResponseTimeout != Timeout.InfiniteTimeSpan;

    /// <summary>Refuses values the forwarder cannot honour; called where options are given to a forwarder.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="ResponseTimeout"/> is zero, or negative and not infinite.</exception>
    internal void Validate(string paramName)
    {
        if (ResponseTimeout <= TimeSpan.Zero && ResponseTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(
                paramName,
                $"HttpForwarderOptions.ResponseTimeout is {ResponseTimeout}: use a positive time, or Timeout.InfiniteTimeSpan for no response timeout.");
        }
    }
}
