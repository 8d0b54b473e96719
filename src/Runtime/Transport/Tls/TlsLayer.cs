using System.Buffers;
using System.Net.Security;
using System.Security.Authentication;
using Fastsock.Engine;
using Fastsock.Transport.Tls.OpenSsl;

namespace Fastsock.Transport.Tls;

/// <summary>
/// TLS as a connection layer: <c>builder.Listen(endPoint, TlsLayer.Server(options, handler))</c> terminates TLS with
/// libssl driven directly (<see cref="TlsServerEngine.OpenSsl"/>, the default) or with <see cref="SslStream"/> over the
/// connection's pipes, then runs <c>handler</c> on a connection whose pipes carry plaintext. The handshake and every record run on the worker that owns the connection. A failed or stalled
/// handshake is counted in <see cref="TlsServerOptions.Stats"/> and closes only its own connection.
/// </summary>
public static partial class TlsLayer
{
    /// <summary>A handler that terminates TLS and passes the decrypted connection to <paramref name="handler"/>.</summary>
    /// <exception cref="ArgumentException">No certificate, or one without its private key.</exception>
    public static ConnectionHandler Server(TlsServerOptions options, ConnectionHandler handler)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.HandshakeTimeout, TimeSpan.Zero);
        if (options.Engine == TlsServerEngine.OpenSsl && OpenSslAvailable)
        {
            return OpenSslServerLayer.Create(options, handler);
        }

        var selector = new TlsCertificateSelector(options);
        var timeout = options.HandshakeTimeout;
        var stats = options.Stats;
        return connection => RunAsync(connection, selector, timeout, stats, handler);
    }

    /// <summary>
    /// Whether this process runs <see cref="TlsServerEngine.OpenSsl"/> layers on OpenSSL: libssl.so.3 loads and is
    /// OpenSSL 3.0 or later (probed once per process). When false they run on SslStream; <see cref="OpenSslDescription"/> says why.
    /// </summary>
    public static bool OpenSslAvailable => OpenSslLibrary.Available;

    /// <summary>One line for a start-up log: the OpenSSL version the engine uses, or why layers fall back to SslStream.</summary>
    public static string OpenSslDescription => OpenSslLibrary.Description;

    private static async Task RunAsync(Connection connection, TlsCertificateSelector selector, TimeSpan timeout, TlsStats stats, ConnectionHandler handler)
    {
        var worker = ConnectionForwarder.CurrentWorker()
            ?? throw new InvalidOperationException("A TLS layer runs on a Fastsock worker; pass TlsLayer.Server(...) to FastsockServerBuilder.Listen.");
        var deadline = new HandshakeDeadline(connection);
        deadline.Arm(worker, timeout);
        var ciphertext = new ConnectionPipeStream(connection.Transport, worker) { Witness = ResumptionWitness.OfServer(), StopsAtRecordEnds = true };
        var ssl = new SslStream(ciphertext, leaveInnerStreamOpen: false);
        try
        {
            var failure = await HandshakeAsync(connection, ssl, selector).ConfigureAwait(true);

            // The handler and the connection's timers belong to the worker, wherever SslStream's last await resumed.
            await new WorkerHop(worker);
            deadline.Disarm();
            if (failure is { } reason)
            {
                stats.Failed(connection.WorkerIndex, deadline.Expired ? TlsFailureReason.Timeout : reason);
                return;
            }

            bool resumed = ciphertext.Witness?.Resumed == true;
            ciphertext.Witness = null;
            stats.Succeeded(connection.WorkerIndex, ssl.SslProtocol, ssl.NegotiatedApplicationProtocol, ssl.NegotiatedCipherSuite, resumed);
            var tls = new TlsConnection(connection, ssl, worker);
            ciphertext.Plaintext = tls.Input;
            try
            {
                await handler(tls).ConfigureAwait(true);
            }
            catch (IOException) when (tls.RecordRejected(ciphertext))
            {
                // The client's bad record, not the handler's fault: the connection closes cleanly.
            }
            finally
            {
                await new WorkerHop(worker);
                bool badRecord = tls.RecordRejected(ciphertext);
                await tls.CloseAsync().ConfigureAwait(true);
                if (badRecord)
                {
                    stats.Failed(connection.WorkerIndex, TlsFailureReason.BadRecord);
                }
            }
        }
        finally
        {
            deadline.Disarm();
            await ssl.DisposeAsync().ConfigureAwait(true);
            await new WorkerHop(worker);
            stats.Closed(connection.WorkerIndex, ciphertext.HopsToWorker);
        }
    }

    /// <summary>The handshake; null when it completed, else why it did not.</summary>
    private static async Task<TlsFailureReason?> HandshakeAsync(Connection connection, SslStream ssl, TlsCertificateSelector selector)
    {
        try
        {
            if (await TlsFirstBytes.CheckAsync(connection.Transport.Input).ConfigureAwait(true) is { } refused)
            {
                return refused;
            }

            await ssl.AuthenticateAsServerAsync(Select, selector, CancellationToken.None).ConfigureAwait(true);
            return null;
        }
        catch (AuthenticationException ex) when (ex.InnerException is IOException or OperationCanceledException)
        {
            return TlsFailureReason.PeerClosed;
        }
        catch (AuthenticationException)
        {
            return TlsFailureReason.HandshakeError;
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            return TlsFailureReason.PeerClosed;
        }
    }

    private static ValueTask<SslServerAuthenticationOptions> Select(SslStream stream, SslClientHelloInfo hello, object? state, CancellationToken cancellationToken) =>
        ValueTask.FromResult(((TlsCertificateSelector)state!).Select(hello.ServerName));
}
