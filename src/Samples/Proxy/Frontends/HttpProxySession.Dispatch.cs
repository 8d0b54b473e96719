using Fastsock.Http;
using Fastsock.Samples.Proxy.Balancing;
using Fastsock.Samples.Proxy.Config;

namespace Fastsock.Samples.Proxy.Frontends;

// Where a request goes after a failed attempt (HAProxy's retries + option redispatch + retry-on): a connect that
// failed, a new connection that died before any response byte, or (retry-on response-timeout) a server that sent
// nothing within the server timeout, goes to another server the balancer picks, the ones that failed this request
// left out, within `retries`; the same server again only when no other is left. Only a request the forwarder still
// holds whole goes again (no body, or its body in hand); a streamed body never does.
internal sealed partial class HttpProxySession
{
    /// <summary>Safe to send twice (RFC 9110 §9.2.2) among those worth retrying; the forwarder adds "and is held whole".</summary>
    private static bool IsIdempotent(RequestMethod method) =>
        method is RequestMethod.Get or RequestMethod.Head or RequestMethod.Options;

    /// <summary>
    /// Idempotent (RFC 9110 §9.2.2): sending it twice has the effect of sending it once, so a request sent on a pooled
    /// connection the server had just closed goes again on a new one. Any other method goes again only with
    /// <c>retryOn: buffered-body</c> (RFC 9112 §9.3.1: a non-idempotent request is retried automatically only when the
    /// user agent knows it is safe; here, the user says so).
    /// </summary>
    private static bool IsRepeatable(RequestMethod method) =>
        method is RequestMethod.Get or RequestMethod.Head or RequestMethod.Put or RequestMethod.Delete or RequestMethod.Options or RequestMethod.Trace;

    /// <summary>The server for the next attempt; null when no server is UP (then 503).</summary>
    private ServerState? PickServer(Balancer balancer, ref Attempts attempts)
    {
        if (attempts.Last is { } last && !attempts.Redispatch)
        {
            return last;
        }

        var next = balancer.Pick(_sourceHash, attempts.Tried)
            ?? (attempts.Tried != 0 ? balancer.Pick(_sourceHash, excluded: 0) : null);
        if (attempts.Last is { } left && next is not null && next != left)
        {
            left.Failures.CountRedispatch(); // on the failure path only: the success path never gets here
        }

        return next;
    }

    /// <summary>The attempts of one request: which servers failed it, and what may still be tried.</summary>
    private struct Attempts(FaultSettings faults, int retries, bool idempotent, bool repeatable)
    {
        /// <summary>Servers that failed this request (<see cref="Balancer.Bit"/>).</summary>
        public ulong Tried;

        /// <summary>Failed attempts so far (a dead pooled connection does not count: the server did nothing wrong).</summary>
        public int Count;

        public ServerState? Last;

        /// <summary>Set after a pooled connection was found dead: the next attempt opens a new connection to this server.</summary>
        public ServerState? FreshConnectionTo;

        public readonly bool Redispatch => faults.Redispatch;

        public readonly bool MayRetryConnect => Count < retries && (faults.RetryOn & RetryOn.ConnFailure) != 0;

        public readonly bool MayRetryEmptyResponse => MaySendAgain && (faults.RetryOn & RetryOn.EmptyResponse) != 0;

        public readonly bool MayRetryTimeout => MaySendAgain && (faults.RetryOn & RetryOn.ResponseTimeout) != 0;

        /// <summary>Whether a request sent on a pooled connection found dead (no response byte) goes again on a new one.</summary>
        public readonly bool MayResendOnDeadPooled => repeatable || (faults.RetryOn & RetryOn.BufferedBody) != 0;

        /// <summary>Whether a request the server may have received can go again: idempotent, or any with buffered-body (the forwarder adds "whole in hand").</summary>
        private readonly bool MaySendAgain => Count < retries && (idempotent || (faults.RetryOn & RetryOn.BufferedBody) != 0);

        public void Failed(ServerState server)
        {
            Tried |= Balancer.Bit(server);
            Last = server;
            Count++;
        }
    }
}
