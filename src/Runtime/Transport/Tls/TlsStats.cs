using System.Net.Security;
using System.Security.Authentication;

namespace Fastsock.Transport.Tls;

/// <summary>
/// Handshake counts of one TLS layer. Each worker writes only its own counters object (created by that worker on its
/// first handshake), so no cache line is written by two cores; <see cref="Snapshot()"/> sums them for readers.
/// </summary>
public sealed class TlsStats
{
    private readonly PerWorkerCounters<TlsWorkerCounters> _workers = new();

    /// <summary>The totals over all workers at this moment (each counter read once; they are not a consistent cut).</summary>
    public TlsStatsSnapshot Snapshot() => _workers.Sum().ToSnapshot();

    /// <summary>The counts of one worker (by index); all zero for a worker that has not handshaken yet.</summary>
    public TlsStatsSnapshot Snapshot(int worker) => _workers.Sum(worker).ToSnapshot();

    /// <summary>A connection under the layer has ended; <paramref name="hops"/> of its stream calls came from off the worker.</summary>
    internal void Closed(int worker, long hops)
    {
        var counters = _workers.For(worker);
        Interlocked.Increment(ref counters.Closed);
        if (hops > 0)
        {
            Interlocked.Add(ref counters.Hops, hops);
        }
    }

    internal void Succeeded(int worker, SslProtocols protocol, SslApplicationProtocol alpn, TlsCipherSuite cipher, bool resumed)
    {
        var counters = _workers.For(worker);
        Interlocked.Increment(ref counters.Handshakes);
        Interlocked.Increment(ref counters.Ciphers[TlsCipherTable.IndexOf(cipher)]);
        if (resumed)
        {
            Interlocked.Increment(ref counters.Resumed);
        }

        if (protocol == SslProtocols.Tls13)
        {
            Interlocked.Increment(ref counters.Tls13);
        }
        else if (protocol == SslProtocols.Tls12)
        {
            Interlocked.Increment(ref counters.Tls12);
        }

        if (alpn == SslApplicationProtocol.Http11)
        {
            Interlocked.Increment(ref counters.Http11);
        }
    }

    internal void Failed(int worker, TlsFailureReason reason) => Interlocked.Increment(ref _workers.For(worker).Failures[(int)reason]);


    /// <summary>One worker's counters; the interlocked adds are uncontended and let readers on other threads see whole values.</summary>
    private sealed class TlsWorkerCounters : IWorkerCounters<TlsWorkerCounters>
    {
        public long Handshakes;
        public long Tls12;
        public long Tls13;
        public long Http11;
        public long Hops;
        public long Closed;
        public long Resumed;
        public readonly long[] Failures = new long[(int)TlsFailureReason.BadRecord + 1];
        public readonly long[] Ciphers = new long[TlsCipherTable.Other + 1];

        public void AddTo(TlsWorkerCounters total)
        {
            total.Handshakes += Interlocked.Read(ref Handshakes);
            total.Tls12 += Interlocked.Read(ref Tls12);
            total.Tls13 += Interlocked.Read(ref Tls13);
            total.Http11 += Interlocked.Read(ref Http11);
            total.Hops += Interlocked.Read(ref Hops);
            total.Closed += Interlocked.Read(ref Closed);
            total.Resumed += Interlocked.Read(ref Resumed);
            for (int i = 0; i < Failures.Length; i++)
            {
                total.Failures[i] += Interlocked.Read(ref Failures[i]);
            }

            for (int i = 0; i < Ciphers.Length; i++)
            {
                total.Ciphers[i] += Interlocked.Read(ref Ciphers[i]);
            }
        }

        public TlsStatsSnapshot ToSnapshot() => new(
            Handshakes,
            Tls12,
            Tls13,
            Http11,
            Failures[(int)TlsFailureReason.Timeout],
            Failures[(int)TlsFailureReason.NotTls],
            Failures[(int)TlsFailureReason.HandshakeError],
            Failures[(int)TlsFailureReason.PeerClosed])
        {
            HopsToWorker = Hops,
            Closed = Closed,
            Resumed = Resumed,
            BadRecords = Failures[(int)TlsFailureReason.BadRecord],
            CipherSuites = Ciphers,
        };
    }
}

/// <summary>Handshake counts summed over workers.</summary>
/// <param name="Handshakes">Handshakes completed.</param>
/// <param name="Tls12">Of those, TLS 1.2.</param>
/// <param name="Tls13">Of those, TLS 1.3.</param>
/// <param name="Http11">Of those, with ALPN http/1.1 agreed.</param>
/// <param name="Timeouts">Failed: the client did not finish within the handshake timeout.</param>
/// <param name="NotTls">Failed: the first bytes were not TLS (plaintext HTTP, random bytes).</param>
/// <param name="HandshakeErrors">Failed: a malformed or refused handshake.</param>
/// <param name="PeerClosed">Failed: the client closed or reset mid-handshake.</param>
public sealed record TlsStatsSnapshot(long Handshakes, long Tls12, long Tls13, long Http11, long Timeouts, long NotTls, long HandshakeErrors, long PeerClosed)
{
    /// <summary>Handshakes that failed, whatever the reason.</summary>
    public long Failures => Timeouts + NotTls + HandshakeErrors + PeerClosed;

    /// <summary>
    /// TLS stream calls that arrived off the connection's worker and were posted back to it (closed connections
    /// only). Zero when SslStream stays on the worker, as it should; a rising count means work left the core.
    /// </summary>
    public long HopsToWorker { get; init; }

    /// <summary>Connections that have ended under the layer, whether or not their handshake completed.</summary>
    public long Closed { get; init; }

    /// <summary>
    /// Of the handshakes, those that resumed a session (TLS 1.3 ticket, TLS 1.2 session id or ticket), as seen on the
    /// wire: the ServerHello's pre_shared_key (1.3) or no Certificate before ChangeCipherSpec (1.2).
    /// </summary>
    public long Resumed { get; init; }

    /// <summary>
    /// Connections closed after their handshake because a record from the client failed to decrypt or verify (each got
    /// a fatal alert first). Not in <see cref="Failures"/>, which counts handshakes. OpenSSL engine only.
    /// </summary>
    public long BadRecords { get; init; }

    /// <summary>Handshakes by negotiated cipher suite, indexed like <see cref="TlsCipherTable.Names"/> (the last is "other").</summary>
    public IReadOnlyList<long> CipherSuites { get; init; } = new long[TlsCipherTable.Other + 1];
}
