namespace Fastsock.Perf.TlsRecords;

/// <summary>
/// One handshake between the libssl client and a server, flight by flight on this thread, with only the server's
/// calls timed (thread CPU clock): Accept with the ClientHello, Continue with each later client flight, Close.
/// </summary>
internal static class OneHandshake
{
    private const int MaxTurns = 16;

    private static readonly ByteSink ClientFlight = new();
    private static readonly ByteSink ServerFlight = new();

    /// <summary>
    /// The server's CPU ns (clock calls not yet subtracted) over its timed <see cref="Steps"/>, the bytes it sent,
    /// whether the client and the server saw a resumption, and what was asked for: the client's session afterwards
    /// (to offer next; the caller frees it), what was negotiated.
    /// </summary>
    public readonly record struct Outcome(long Ns, int Steps, int Sent, bool ClientReused, bool? ServerReused, IntPtr Session, string? Negotiated);

    public static Outcome Run(IHandshakeServer server, HandshakeClient client, IntPtr offeredSession, bool takeSession, bool describe)
    {
        client.Begin(offeredSession);
        ClientFlight.Clear();
        client.Step(default, ClientFlight);
        ServerFlight.Clear();
        long start = ThreadCpu.Nanoseconds();
        bool serverDone = server.Accept(ClientFlight.Span, ServerFlight);
        long ns = ThreadCpu.Nanoseconds() - start;
        int steps = 1;
        int sent = ServerFlight.Length;
        bool clientDone = false;
        for (int turn = 0; !(serverDone && clientDone); turn++)
        {
            if (turn > MaxTurns)
            {
                throw new InvalidOperationException($"{server.Name}: the handshake did not finish in {MaxTurns} turns");
            }

            if (!clientDone)
            {
                ClientFlight.Clear();
                clientDone = client.Step(ServerFlight.Span, ClientFlight);
            }
            else if (ServerFlight.Length > 0)
            {
                client.Absorb(ServerFlight.Span);
            }

            ServerFlight.Clear();
            if (serverDone || ClientFlight.Length == 0)
            {
                continue;
            }

            start = ThreadCpu.Nanoseconds();
            serverDone = server.Continue(ClientFlight.Span, ServerFlight);
            ns += ThreadCpu.Nanoseconds() - start;
            steps++;
            sent += ServerFlight.Length;
            ClientFlight.Clear();
        }

        // What the server sent with its last step (TLS 1.3 NewSessionTicket) reaches the client before it is asked
        // for its session.
        if (ServerFlight.Length > 0)
        {
            client.Absorb(ServerFlight.Span);
        }

        var outcome = new Outcome(0, 0, sent, client.Reused, server.Reused,
            takeSession ? client.TakeSession() : IntPtr.Zero,
            describe ? client.Negotiated : null);
        start = ThreadCpu.Nanoseconds();
        server.Close();
        ns += ThreadCpu.Nanoseconds() - start;
        client.End();
        return outcome with { Ns = ns, Steps = steps + 1 };
    }
}
