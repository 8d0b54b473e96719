using System.IO.Pipelines;
using System.Net.Security;
using Fastsock.Engine;

namespace Fastsock.Transport.Tls;

/// <summary>
/// A connection after its TLS handshake: the handler's pipes carry plaintext through an <see cref="SslStream"/> over
/// the inner connection's pipes. Everything else (worker, addresses, closing) is the inner connection's.
/// </summary>
internal sealed class TlsConnection(Connection inner, SslStream ssl, Worker worker) : SslStreamConnectionBase(inner, ssl, worker)
{
    public override PipeReader Input => PlaintextReader;

    public override PipeWriter Output => PlaintextWriter;

    /// <summary>
    /// SslStream refused a record from the client after the handshake (a bad authentication tag, a malformed record, a
    /// fatal alert): a plaintext read failed while the ciphertext under it had neither ended nor failed.
    /// </summary>
    public bool RecordRejected(ConnectionPipeStream ciphertext) => PlaintextReader.ReadFailed && !ciphertext.InputInterrupted;

    /// <summary>
    /// After the handler: sends what it left unflushed and a close_notify, so the client can tell the end of the data
    /// from a cut connection. A peer that is already gone only makes this fail quietly.
    /// </summary>
    public async Task CloseAsync()
    {
        try
        {
            await Output.CompleteAsync().ConfigureAwait(false);
            await Input.CompleteAsync().ConfigureAwait(false);
            await Ssl.ShutdownAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // The peer reset or the connection was aborted: nothing left to tell it.
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            // SslStream will not shut down a session that refused a record (OpenSSL's "shutdown while in init"): the
            // connection just closes, with no close_notify.
        }
    }
}
