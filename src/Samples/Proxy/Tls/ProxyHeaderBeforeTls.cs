using Fastsock.Samples.Proxy.Routing;
using Fastsock.Transport;

namespace Fastsock.Samples.Proxy.Tls;

/// <summary>
/// HAProxy's <c>accept-proxy ssl</c>: on a frontend with both <c>acceptProxy</c> and <c>tls</c>, the PROXY header comes
/// in the clear before the ClientHello. It is read here on the raw connection, and the TLS layer then starts on the bytes
/// after it; the frontend's session, under TLS, takes the header read here (<see cref="Take"/>) instead of looking for
/// one in the plaintext.
/// </summary>
internal static class ProxyHeaderBeforeTls
{
    // Handed from this wrapper to the session it runs, through the connection's own async flow: the TLS layer and the
    // session are awaited inside it, so the value flows into them with the ExecutionContext and into no other connection.
    private static readonly AsyncLocal<Outcome?> s_received = new();

    /// <summary>
    /// Reads the header, then runs <paramref name="tls"/>; a bad, late or missing header runs <paramref name="plain"/>
    /// instead, whose session finds the failure (already logged) through <see cref="Take"/>, counts it and closes.
    /// </summary>
    public static ConnectionHandler Wrap(ConnectionHandler tls, ConnectionHandler plain, string frontend, ProxyHeaderExchange headers) => async connection =>
    {
        var peer = await headers.ReadAsync(connection, frontend).ConfigureAwait(true);
        s_received.Value = new Outcome(peer);
        await (peer is null ? plain(connection) : tls(connection)).ConfigureAwait(true);
    };

    /// <summary>True when this connection's header was read before TLS; <paramref name="peer"/> is null when it was bad.</summary>
    public static bool Take(out ClientEndPoints? peer)
    {
        var outcome = s_received.Value;
        peer = outcome?.Peer;
        return outcome is not null;
    }

    private sealed record Outcome(ClientEndPoints? Peer);
}
