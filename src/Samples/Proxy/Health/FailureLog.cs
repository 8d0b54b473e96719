namespace Fastsock.Samples.Proxy.Health;

/// <summary>Why an exchange with a server failed, as counted for passive health and the aggregated log line.</summary>
internal enum ExchangeFailure
{
    ConnectRefused,
    ConnectTimeout,
    ConnectError,
    Reset,
    ResponseTimeout,
    BadResponse,
    Tls,
}

/// <summary>
/// Failed exchanges of one server, counted by reason from any worker: since the start (<see cref="Totals"/>, for the
/// stats) and not yet logged. A burst of failures makes one line a second at most (<see cref="TryTake"/>), not one per
/// request.
/// </summary>
/// <remarks>
/// Written with interlocked increments by whichever worker saw the failure: only on the failure path (and on a
/// redispatch, which follows one), never on a good exchange, so the success path shares no line through this.
/// </remarks>
internal sealed class FailureLog
{
    public const long IntervalMs = 1000;

    private static readonly int ReasonCount = Enum.GetValues<ExchangeFailure>().Length;

    private readonly long[] _pending = new long[ReasonCount];
    private readonly long[] _total = new long[ReasonCount];
    private long _redispatches;
    private long _passiveMarkDowns;
    private long _notResent;
    private long _lastLineMs = long.MinValue / 2;

    private string? _lastDetail;

    public void Record(ExchangeFailure failure, string detail)
    {
        Volatile.Write(ref _lastDetail, detail);
        Interlocked.Increment(ref _total[(int)failure]);
        Interlocked.Increment(ref _pending[(int)failure]);
    }

    /// <summary>A request that failed on this server went to another one.</summary>
    public void CountRedispatch() => Interlocked.Increment(ref _redispatches);

    /// <summary>A request not safe to send twice met a pooled connection this server had closed, and was answered 502.</summary>
    public void CountNotResent() => Interlocked.Increment(ref _notResent);

    /// <summary>Live traffic (passive health) marked this server DOWN.</summary>
    public void CountPassiveMarkDown() => Interlocked.Increment(ref _passiveMarkDowns);

    /// <summary>Everything counted since the start.</summary>
    public FailureTotals Totals() => new(
        Volatile.Read(ref _total[(int)ExchangeFailure.ConnectRefused]), Volatile.Read(ref _total[(int)ExchangeFailure.ConnectTimeout]),
        Volatile.Read(ref _total[(int)ExchangeFailure.ConnectError]), Volatile.Read(ref _total[(int)ExchangeFailure.Reset]),
        Volatile.Read(ref _total[(int)ExchangeFailure.ResponseTimeout]), Volatile.Read(ref _total[(int)ExchangeFailure.BadResponse]),
        Volatile.Read(ref _redispatches), Volatile.Read(ref _passiveMarkDowns), Volatile.Read(ref _notResent))
    {
        Tls = Volatile.Read(ref _total[(int)ExchangeFailure.Tls]),
    };

    /// <summary>Whether any failure waits to be logged.</summary>
    public bool HasPending
    {
        get
        {
            for (int i = 0; i < _pending.Length; i++)
            {
                if (Volatile.Read(ref _pending[i]) != 0)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>
    /// The counts since the last line, when a line is due (a second after the previous one) and this caller won it;
    /// null otherwise. The counts taken are reset.
    /// </summary>
    public string? TryTake(long nowMs)
    {
        long last = Volatile.Read(ref _lastLineMs);
        if (nowMs - last < IntervalMs || !HasPending || Interlocked.CompareExchange(ref _lastLineMs, nowMs, last) != last)
        {
            return null;
        }

        var text = new System.Text.StringBuilder();
        for (int i = 0; i < _pending.Length; i++)
        {
            long count = Interlocked.Exchange(ref _pending[i], 0);
            if (count != 0)
            {
                text.Append(text.Length == 0 ? "" : ", ").Append(count).Append(' ').Append(Name((ExchangeFailure)i));
            }
        }

        if (text.Length == 0)
        {
            return null;
        }

        // The last failure as the system said it (errno name and all): what a user searches for.
        return Volatile.Read(ref _lastDetail) is { } detail ? text.Append(" (last: ").Append(detail).Append(')').ToString() : text.ToString();
    }

    private static string Name(ExchangeFailure failure) => failure switch
    {
        ExchangeFailure.ConnectRefused => "connect refused",
        ExchangeFailure.ConnectTimeout => "connect timeout",
        ExchangeFailure.ConnectError => "connect error",
        ExchangeFailure.Reset => "connection reset or closed before the response",
        ExchangeFailure.ResponseTimeout => "response timeout",
        ExchangeFailure.Tls => "tls handshake",
        _ => "bad response",
    };
}
