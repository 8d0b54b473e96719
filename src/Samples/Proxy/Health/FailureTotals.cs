namespace Fastsock.Samples.Proxy.Health;

/// <summary>
/// What went wrong with one server since the start (or a sum over servers): failed exchanges by reason, requests
/// redispatched away from it, the times live traffic marked it DOWN, and the requests not sent again after it closed a
/// pooled connection under them (not idempotent, no <c>retryOn: buffered-body</c>). Read from <see cref="FailureLog.Totals"/>.
/// </summary>
internal readonly record struct FailureTotals(
    long ConnectRefused, long ConnectTimeout, long ConnectError, long Reset, long ResponseTimeout, long BadResponse,
    long Redispatches, long PassiveMarkDowns, long NotResent = 0)
{
    /// <summary>TLS handshakes to the server that failed (refused certificate, handshake error or timeout).</summary>
    public long Tls { get; init; }

    /// <summary>Failed exchanges, every reason.</summary>
    public long Failures => ConnectRefused + ConnectTimeout + ConnectError + Reset + ResponseTimeout + BadResponse + Tls;

    public long Of(ExchangeFailure failure) => failure switch
    {
        ExchangeFailure.ConnectRefused => ConnectRefused,
        ExchangeFailure.ConnectTimeout => ConnectTimeout,
        ExchangeFailure.ConnectError => ConnectError,
        ExchangeFailure.Reset => Reset,
        ExchangeFailure.ResponseTimeout => ResponseTimeout,
        ExchangeFailure.Tls => Tls,
        _ => BadResponse,
    };

    public static FailureTotals operator +(FailureTotals a, FailureTotals b) => Add(a, b);

    public static FailureTotals Add(FailureTotals a, FailureTotals b) => new(
        a.ConnectRefused + b.ConnectRefused, a.ConnectTimeout + b.ConnectTimeout, a.ConnectError + b.ConnectError, a.Reset + b.Reset,
        a.ResponseTimeout + b.ResponseTimeout, a.BadResponse + b.BadResponse, a.Redispatches + b.Redispatches, a.PassiveMarkDowns + b.PassiveMarkDowns,
        a.NotResent + b.NotResent)
    {
        Tls = a.Tls + b.Tls,
    };
}
