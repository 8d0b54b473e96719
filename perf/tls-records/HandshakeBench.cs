// Server CPU per TLS handshake: (a) SslStream as the runtime's TlsLayer.Server drives it (its own certificate selector,
// options and stats; see SslStreamHandshakeServer) against (b) libssl used directly as HAProxy
// uses it (see LibSslHandshakeServer). Same libssl.so.3 under both, same certificates, same client. One handshake's
// turns: OneHandshake.cs.
//
// How the server is timed, exactly: one thread plays both sides over in-memory flights, one handshake at a time. The
// client is libssl (HandshakeClient) and its steps are never timed. Each server step is timed alone with the thread's
// CPU clock (CLOCK_THREAD_CPUTIME_ID, robust to other load on the machine): Accept (SslStream: new transport, new
// SslStream, AuthenticateAsServerAsync up to its first wait for the client; libssl: SSL_new, BIOs, SSL_do_handshake),
// each later client flight (SslStream: the pending read completes and SslStream's continuation runs inline on this
// thread until it waits again or finishes; libssl: BIO_write, SSL_do_handshake, BIO_read), and Close (DisposeAsync;
// SSL_shutdown + SSL_free). A step that would leave work running elsewhere stops the run. One clock call's own cost (calibrated at
// start) is subtracted per timed step. Gen-0 collections triggered by the server's allocations run on this thread and
// are counted, as they would be on a worker.
//
// Every handshake is checked: full ones must not resume, resumed ones must (client: SSL_session_reused; server: libssl's
// SSL_session_reused; SslStream tells nothing). Resumed runs chain their sessions,
// each handshake offering the session the one before it left (a fresh ticket, as browsers use them; TLS 1.3: the
// client reads the NewSessionTicket first). Whether a server also takes the same ticket twice is probed once and shown.
// After WARMUP seconds of all cases (tier-1 code), BATCHES rounds alternate the two servers batch by batch, the order
// swapping each round, and the median and min-max of the per-batch µs per handshake are printed, with SslStream's
// managed allocation per handshake (GC.GetAllocatedBytesForCurrentThread around each batch).
// Usage: fastsock-tls-records handshakes [PER_BATCH=100] [BATCHES=11] [WARMUP_SECONDS=12] [both|sslstream|libssl|options]
// (sslstream or libssl alone: for a profile of one; options: the layer's SslStream against the same options passed
// directly to AuthenticateAsServerAsync, without the SNI selection callback, to price that choice.)
using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using Fastsock.Transport.Tls;

namespace Fastsock.Perf.TlsRecords;

internal static class HandshakeBench
{
    private sealed record Case(string Label, int Version, bool Rsa, bool Resumed);

    /// <summary>One server implementation on one case: its client, the session it offers, its batch results.</summary>
    private sealed class Measured(Case @case, IHandshakeServer server, HandshakeClient client)
    {
        public Case Case { get; } = @case;

        public IHandshakeServer Server { get; } = server;

        public HandshakeClient Client { get; } = client;

        public IntPtr Session { get; set; }

        public string Negotiated { get; set; } = "";

        public List<double> Microseconds { get; } = [];

        public List<double> AllocatedBytes { get; } = [];

        public double BytesSent { get; set; }

        public double Steps { get; set; }

        public bool? SameTicketTwice { get; set; }
    }

    private static readonly Case[] Cases =
    [
        new("TLS 1.3 full, ECDSA P-256", 0x0304, Rsa: false, Resumed: false),
        new("TLS 1.3 full, RSA-2048", 0x0304, Rsa: true, Resumed: false),
        new("TLS 1.3 resumed (ticket)", 0x0304, Rsa: false, Resumed: true),
        new("TLS 1.2 full, ECDSA P-256", 0x0303, Rsa: false, Resumed: false),
        new("TLS 1.2 resumed", 0x0303, Rsa: false, Resumed: true),
    ];

    private static double _clockCallNs;

    public static void Run(string[] args)
    {
        int perBatch = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100;
        int batches = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 11;
        double warmUpSeconds = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 12;
        string only = args.Length > 3 ? args[3] : "both";

        using var certificates = new BenchCertificates();
        using var tls13 = new HandshakeClient(0x0304);
        using var tls12 = new HandshakeClient(0x0303);
        var sslStream = new[] { SslStreamServer(certificates.Ecdsa, direct: false), SslStreamServer(certificates.Rsa, direct: false) };
        var direct = new[] { SslStreamServer(certificates.Ecdsa, direct: true), SslStreamServer(certificates.Rsa, direct: true) };
        var libSsl = new[]
        {
            new LibSslHandshakeServer(certificates.EcdsaPem, certificates.EcdsaKeyPem),
            new LibSslHandshakeServer(certificates.RsaPem, certificates.RsaKeyPem),
        };
        var runs = new List<Measured>();
        foreach (var c in Cases)
        {
            var client = c.Version == 0x0304 ? tls13 : tls12;
            int certificate = c.Rsa ? 1 : 0;
            if (only is "both" or "sslstream" or "options")
            {
                runs.Add(new Measured(c, sslStream[certificate], client));
            }

            if (only is "options")
            {
                runs.Add(new Measured(c, direct[certificate], client));
            }

            if (only is "both" or "libssl")
            {
                runs.Add(new Measured(c, libSsl[certificate], client));
            }
        }

        _clockCallNs = CalibrateClock();
        foreach (var run in runs)
        {
            // Untimed: one full handshake (what was negotiated, the first session to offer); for resumed cases, whether
            // the server takes the same ticket twice (OpenSSL's stateful TLS 1.3 tickets are single-use).
            Check(run, Handshake(run, IntPtr.Zero, renewSession: true), resumed: false);
            if (run.Case.Resumed)
            {
                var first = Handshake(run, run.Session, renewSession: false);
                Check(run, first, resumed: true);
                run.SameTicketTwice = Handshake(run, run.Session, renewSession: false).ClientReused;
            }
        }

        Console.WriteLine($"handshakes: {perBatch} per batch, {batches} batches per server and case after {warmUpSeconds} s of warm-up; " +
            $"server GC {GCSettings.IsServerGC}, {Environment.ProcessorCount} CPU(s) allowed, clock call {_clockCallNs:F0} ns subtracted per timed step; " +
            $"load average {File.ReadAllText("/proc/loadavg").Trim()}");
        var warmUp = Stopwatch.StartNew();
        int warmUpHandshakes = 0;
        while (warmUp.Elapsed.TotalSeconds < warmUpSeconds)
        {
            foreach (var run in runs)
            {
                Batch(run, Math.Min(perBatch, 20), record: false);
                warmUpHandshakes += Math.Min(perBatch, 20);
            }
        }

        Console.WriteLine($"warm-up: {warmUpHandshakes} handshakes in {warmUp.Elapsed.TotalSeconds:F1} s");
        for (int round = 0; round < batches; round++)
        {
            foreach (var c in Cases)
            {
                var pair = runs.FindAll(r => r.Case == c);
                if (round % 2 == 1)
                {
                    pair.Reverse();
                }

                foreach (var run in pair)
                {
                    Batch(run, perBatch, record: true);
                }
            }
        }

        HandshakeReport.Print(runs.ConvertAll(r => new HandshakeReport.Row(
            r.Case.Label, r.Server.Name, r.Negotiated, r.Microseconds, r.AllocatedBytes, r.BytesSent, r.Steps, r.SameTicketTwice)));
        Console.WriteLine($"load average at the end {File.ReadAllText("/proc/loadavg").Trim()}");
        foreach (var run in runs)
        {
            if (run.Session != IntPtr.Zero)
            {
                BenchLibSsl.SessionFree(run.Session);
            }
        }

        foreach (var server in sslStream)
        {
            server.Dispose();
        }

        foreach (var server in direct)
        {
            server.Dispose();
        }

        foreach (var server in libSsl)
        {
            server.Dispose();
        }
    }

    private static SslStreamHandshakeServer SslStreamServer(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate, bool direct)
    {
        // TlsServerOptions' defaults are the proxy frontend's: TLS 1.2 and 1.3, ALPN http/1.1.
        var options = new TlsServerOptions();
        options.Certificates.Add(certificate);
        return new SslStreamHandshakeServer(options, direct);
    }

    private static void Batch(Measured run, int count, bool record)
    {
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        double serverNs = 0;
        long steps = 0;
        long bytes = 0;
        for (int i = 0; i < count; i++)
        {
            // Resumed: each handshake offers the session of the one before (a fresh ticket), as browsers do.
            var handshake = Handshake(run, run.Case.Resumed ? run.Session : IntPtr.Zero, renewSession: run.Case.Resumed);
            Check(run, handshake, run.Case.Resumed);
            serverNs += handshake.Ns;
            steps += handshake.Steps;
            bytes += handshake.Sent;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        if (record)
        {
            run.Microseconds.Add((serverNs - (steps * _clockCallNs)) / count / 1000);
            run.AllocatedBytes.Add(allocated / (double)count);
            run.BytesSent = bytes / (double)count;
            run.Steps = steps / (double)count;
        }
    }

    private static void Check(Measured run, OneHandshake.Outcome outcome, bool resumed)
    {
        if (outcome.ClientReused != resumed || (outcome.ServerReused is bool server && server != resumed))
        {
            throw new InvalidOperationException($"{run.Server.Name}, {run.Case.Label}: expected {(resumed ? "a resumed" : "a full")} handshake, " +
                $"client SSL_session_reused {outcome.ClientReused}, server says {outcome.ServerReused?.ToString() ?? "nothing"}");
        }
    }

    /// <summary>One handshake of <paramref name="run"/>; <paramref name="renewSession"/>: its session replaces the one the run offers.</summary>
    private static OneHandshake.Outcome Handshake(Measured run, IntPtr session, bool renewSession)
    {
        var outcome = OneHandshake.Run(run.Server, run.Client, session, renewSession, describe: run.Negotiated.Length == 0);
        run.Negotiated = outcome.Negotiated ?? run.Negotiated;
        if (outcome.Session != IntPtr.Zero)
        {
            if (run.Session != IntPtr.Zero)
            {
                BenchLibSsl.SessionFree(run.Session);
            }

            run.Session = outcome.Session;
        }

        return outcome;
    }

    /// <summary>The cost of one clock_gettime(CLOCK_THREAD_CPUTIME_ID), which each timed step pays about once.</summary>
    private static double CalibrateClock()
    {
        const int Calls = 200_000;
        long first = ThreadCpu.Nanoseconds();
        for (int i = 0; i < Calls; i++)
        {
            ThreadCpu.Nanoseconds();
        }

        return (ThreadCpu.Nanoseconds() - first) / (double)(Calls + 1);
    }
}
