using System.IO.Pipelines;
using System.Security.Authentication;
using Fastsock.Engine;
using Microsoft.Extensions.Logging;

namespace Fastsock.Transport.Tls.OpenSsl;

/// <summary>
/// The OpenSSL server engine behind <see cref="TlsLayer.Server"/>: per connection an SSL made from the layer's
/// session context, the first-byte check, SSL_do_handshake driven by the ciphertext the connection's input yields
/// (its answers written straight into the connection's output), the handshake deadline on the worker's timer wheel,
/// then the handler on an <see cref="OpenSslConnection"/>, then a close_notify. All of it on the connection's worker.
/// </summary>
internal static partial class OpenSslServerLayer
{
    public static ConnectionHandler Create(TlsServerOptions options, ConnectionHandler handler)
    {
        var contexts = new OpenSslServerContexts(options);
        var timeout = options.HandshakeTimeout;
        var stats = options.Stats;
        return connection => RunAsync(connection, contexts, timeout, stats, handler);
    }

    private static async Task RunAsync(Connection connection, OpenSslServerContexts contexts, TimeSpan timeout, TlsStats stats, ConnectionHandler handler)
    {
        var worker = ConnectionForwarder.CurrentWorker()
            ?? throw new InvalidOperationException("A TLS layer runs on a Fastsock worker; pass TlsLayer.Server(...) to FastsockServerBuilder.Listen.");
        var deadline = new HandshakeDeadline(connection);
        deadline.Arm(worker, timeout);
        OpenSslSession? session = null;
        long hops = 0;
        try
        {
            session = new OpenSslSession(contexts.SessionContext);
            var failure = await HandshakeAsync(connection, session).ConfigureAwait(true);
            await new WorkerHop(worker);
            deadline.Disarm();
            if (failure is { } reason)
            {
                reason = deadline.Expired ? TlsFailureReason.Timeout : reason;
                stats.Failed(connection.WorkerIndex, reason);
                LogFailure(worker, connection, reason, session);

                return;
            }

            var protocol = contexts.Protocol(session.SelectedProtocol);
            stats.Succeeded(connection.WorkerIndex, session.Protocol, protocol, session.CipherSuite, session.Resumed);
            var tls = new OpenSslConnection(connection, session, worker, protocol);
            tls.Start();
            try
            {
                await handler(tls).ConfigureAwait(true);
            }
            catch (IOException) when (session.RecordRejected)
            {
                // The client's bad record, not the handler's fault: its alert went out, the connection closes cleanly.
            }
            finally
            {
                await new WorkerHop(worker);
                await tls.CloseAsync().ConfigureAwait(true);
                hops = tls.HopsToWorker;
                if (session.RecordRejected)
                {
                    stats.Failed(connection.WorkerIndex, TlsFailureReason.BadRecord);
                }
            }
        }
        finally
        {
            deadline.Disarm();
            await new WorkerHop(worker);
            session?.Dispose();
            GC.KeepAlive(contexts);
            stats.Closed(connection.WorkerIndex, hops);
        }
    }

    /// <summary>The handshake; null when it completed, else why it did not.</summary>
    private static async Task<TlsFailureReason?> HandshakeAsync(Connection connection, OpenSslSession session)
    {
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        try
        {
            if (await TlsFirstBytes.CheckAsync(input).ConfigureAwait(true) is { } refused)
            {
                return refused;
            }

            while (true)
            {
                var read = await input.ReadAsync().ConfigureAwait(true);
                if (read.IsCanceled)
                {
                    input.AdvanceTo(read.Buffer.Start);
                    return TlsFailureReason.PeerClosed;
                }

                session.Feed(read.Buffer);
                input.AdvanceTo(read.Buffer.End);
                var step = session.Handshake();

                // The server's flight, or the alert of a failed handshake, goes out either way. Once TLS 1.3's
                // handshake is done, what OpenSSL wrote is only the session tickets, which no client waits for: they
                // stay in the write BIO (its buffer is there already) and leave with the first answer or the
                // close_notify, in the same send, where they took a send and a segment of their own. TLS 1.2's last
                // flight holds the Finished the client waits for.
                if (session.HasOutput && (step != HandshakeStep.Done || session.Protocol != SslProtocols.Tls13))
                {
                    session.DrainTo(output);
                    await output.FlushAsync().ConfigureAwait(true);
                }

                if (step == HandshakeStep.Done)
                {
                    return null;
                }

                if (step == HandshakeStep.Failed)
                {
                    return TlsFailureReason.HandshakeError;
                }

                if (read.IsCompleted)
                {
                    return TlsFailureReason.PeerClosed;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            return TlsFailureReason.PeerClosed;
        }
    }

    private static void LogFailure(Worker worker, Connection connection, TlsFailureReason reason, OpenSslSession session)
    {
        if (worker.Logger.IsEnabled(LogLevel.Debug))
        {
            string peer = connection.RemoteEndPoint?.ToString() ?? "?";
            string error = session.LastError == 0 ? "" : session.LastErrorText;
            HandshakeFailed(worker.Logger, peer, worker.Index, reason, error);
        }
    }

    [LoggerMessage(EventId = 130, Level = LogLevel.Debug, Message = "TLS handshake from {Peer} failed on worker {Worker}: {Reason} {Error}")]
    private static partial void HandshakeFailed(ILogger logger, string peer, int worker, TlsFailureReason reason, string error);
}
