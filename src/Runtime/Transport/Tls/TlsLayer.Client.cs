using System.Net.Security;
using System.Security.Authentication;
using Fastsock.Engine;

namespace Fastsock.Transport.Tls;

/// <summary>TLS origination: the client side of the layer, for connections the application opened.</summary>
public static partial class TlsLayer
{
    /// <summary>
    /// Runs a TLS handshake as the client over <paramref name="connection"/> (one from
    /// <see cref="FastsockConnector.ConnectAsync"/>) and returns a connection whose pipes carry plaintext. The
    /// handshake and every record run on the worker that owns the connection. Completing both pipe ends of the result
    /// sends a close_notify and closes <paramref name="connection"/>. Call it on that worker (a handler or its
    /// continuations).
    /// </summary>
    /// <exception cref="TlsHandshakeException">
    /// The handshake failed, timed out or the server's certificate was refused (the message says why and what to do);
    /// <paramref name="connection"/> is closed.
    /// </exception>
    /// <exception cref="InvalidOperationException">Called off the connection's worker.</exception>
    public static async Task<Connection> ClientAsync(Connection connection, TlsClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.HandshakeTimeout, TimeSpan.Zero);
        var worker = ConnectionForwarder.CurrentWorker();
        if (worker is null || worker.Index != connection.WorkerIndex)
        {
            throw new InvalidOperationException(
                $"TlsLayer.ClientAsync({connection.RemoteEndPoint}) was called off the connection's worker {connection.WorkerIndex}; call it from the handler that opened the connection.");
        }

        var check = new ServerCertificateCheck(options);
        var deadline = new ClientHandshakeDeadline(connection);
        // One record per read from the start: the cursor must know where records begin.
        var ciphertext = new ConnectionPipeStream(connection.Transport, worker) { Witness = ResumptionWitness.OfClient(), StopsAtRecordEnds = true };
        var ssl = new SslStream(ciphertext, leaveInnerStreamOpen: true);
        deadline.Arm(worker, options.HandshakeTimeout);
        TlsHandshakeException? failure;
        try
        {
            await ssl.AuthenticateAsClientAsync(Authentication(options, check), CancellationToken.None).ConfigureAwait(true);
            failure = null;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Every failure, expected or not (a certificate SslStream or the check cannot parse, say), releases the
            // stream, the connection and the deadline below and is counted: none may leave the connection open.
            failure = Failure(connection, options, check, deadline.Expired, ex);
        }

        // The caller and the connection's timers belong to the worker, wherever SslStream's last await resumed.
        await new WorkerHop(worker);
        deadline.Disarm();
        bool resumed = ciphertext.Witness?.Resumed == true;
        ciphertext.Witness = null;
        if (failure is not null)
        {
            options.Stats.Failed(connection.WorkerIndex, failure.Reason);
            await ssl.DisposeAsync().ConfigureAwait(true);
            await new WorkerHop(worker);
            connection.Transport.Input.Complete();
            connection.Transport.Output.Complete();
            options.Stats.Closed(connection.WorkerIndex, ciphertext.HopsToWorker);
            throw failure;
        }

        options.Stats.Succeeded(connection.WorkerIndex, ssl.SslProtocol, ssl.NegotiatedCipherSuite, resumed);
        return new TlsClientConnection(connection, ssl, ciphertext, worker, options.Stats);
    }

    /// <summary>
    /// Whether reading from the server on <paramref name="connection"/> (one returned by <see cref="ClientAsync"/>)
    /// failed because of a record it sent after the handshake: refused, or cut short by the end of the connection.
    /// <see cref="TlsClientRecordFailure.None"/> for any other connection, or when the reads did not fail that way.
    /// Read it on the connection's worker, after a read threw.
    /// </summary>
    public static TlsClientRecordFailure RecordFailureOf(Connection connection) =>
        connection is TlsClientConnection tls ? tls.RecordFailure : TlsClientRecordFailure.None;

    /// <remarks>
    /// SslStream resumes client sessions from a cache it keeps per process, keyed by <see cref="SslClientAuthenticationOptions.TargetHost"/>
    /// (one session per name; TLS 1.3 tickets and TLS 1.2 ids or tickets): nothing here is per connection in a way that
    /// defeats it, and the certificate check still runs on a resumed handshake. It does not resume when the target host is
    /// empty or an IP address (the name is its key), so such servers always get full handshakes.
    /// </remarks>
    private static SslClientAuthenticationOptions Authentication(TlsClientOptions options, ServerCertificateCheck check)
    {
        var authentication = new SslClientAuthenticationOptions
        {
            TargetHost = options.TargetHost,
            EnabledSslProtocols = options.EnabledProtocols,
            RemoteCertificateValidationCallback = check.Validate,
            CertificateChainPolicy = check.ChainPolicy(),
            CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
            ClientCertificateContext = options.ClientCertificateContext,
        };
        if (options.ApplicationProtocols.Count > 0)
        {
            authentication.ApplicationProtocols = [.. options.ApplicationProtocols];
        }

        return authentication;
    }

    private static TlsHandshakeException Failure(Connection connection, TlsClientOptions options, ServerCertificateCheck check, bool expired, Exception error)
    {
        string server = string.IsNullOrEmpty(options.TargetHost) ? $"{connection.RemoteEndPoint}" : $"{options.TargetHost} ({connection.RemoteEndPoint})";
        var (reason, detail) = expired
            ? (TlsClientFailureReason.Timeout, $"handshake timed out after {options.HandshakeTimeout.TotalMilliseconds:0} ms; check that the server speaks TLS on this port, or raise the handshake timeout")
            : check.Reason is { } refused ? (refused, check.Detail!)
            : error is AuthenticationException { InnerException: IOException or OperationCanceledException } or IOException or OperationCanceledException or ObjectDisposedException
                ? (TlsClientFailureReason.PeerClosed, $"the server closed the connection during the handshake ({error.Message}); check that it speaks TLS on this port")
                : error is AuthenticationException
                ? (TlsClientFailureReason.HandshakeError, $"handshake refused: {error.Message}; check the protocols and ciphers the server accepts")
                : (TlsClientFailureReason.HandshakeError, $"handshake failed: {error.GetType().Name}: {error.Message}; check that the server speaks TLS on this port and sends a well-formed certificate");
        return new TlsHandshakeException(reason, $"TLS to {server} failed: {detail}", error);
    }

    /// <summary>Closes a connection whose client handshake outlives the timeout, from the worker's timer wheel.</summary>
    private sealed class ClientHandshakeDeadline(Connection connection) : TimerEntry
    {
        public bool Expired { get; private set; }

        // The clock now, not the turn's (see HandshakeDeadline): armed late in a long turn it would fire early.
        public void Arm(Worker worker, TimeSpan timeout) => worker.Timers.Schedule(this, Environment.TickCount64, timeout);

        public void Disarm() => Wheel?.Cancel(this);

        public override void OnExpired()
        {
            Expired = true;
            connection.Abort();
        }
    }
}
