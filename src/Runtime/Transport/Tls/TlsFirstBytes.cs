using System.IO.Pipelines;

namespace Fastsock.Transport.Tls;

/// <summary>
/// Looks at a connection's first bytes before handing them to a TLS engine: a TLS connection opens with a handshake
/// record (type 22). Plaintext HTTP or noise is refused here, cheaply and with a reason of its own.
/// </summary>
internal static class TlsFirstBytes
{
    /// <summary>Null when the connection opens like TLS (its bytes are left unread), else why it is refused.</summary>
    public static async ValueTask<TlsFailureReason?> CheckAsync(PipeReader input)
    {
        var first = await input.ReadAsync().ConfigureAwait(true);
        if (first.Buffer.IsEmpty)
        {
            input.AdvanceTo(first.Buffer.End);
            return first.IsCanceled ? TlsFailureReason.Timeout : TlsFailureReason.PeerClosed;
        }

        bool isHandshake = first.Buffer.FirstSpan[0] == 22;
        input.AdvanceTo(first.Buffer.Start);
        return isHandshake ? null : TlsFailureReason.NotTls;
    }
}
