using Fastsock.Transport.Tls.OpenSsl;

namespace Fastsock.Perf.TlsRecords;

/// <summary>
/// The client of every measured handshake: libssl over memory BIOs, one TLS version, SNI "localhost", ALPN http/1.1,
/// no certificate check (its cost is the client's, and the client is not timed). For resumed runs it offers a session
/// kept from one earlier full handshake with the same server (SSL_set_session), every time the same one, as
/// <c>openssl s_time -reuse</c> does.
/// </summary>
internal sealed unsafe class HandshakeClient : IDisposable
{
    private static readonly byte[] Alpn = "\u0008http/1.1"u8.ToArray();
    private static readonly byte[] HostName = "localhost\0"u8.ToArray();

    private readonly IntPtr _context;
    private IntPtr _ssl;
    private IntPtr _input;
    private IntPtr _output;

    public HandshakeClient(int tlsVersion)
    {
        _context = LibSsl.ContextNew(BenchLibSsl.TlsClientMethod());
        if (_context == IntPtr.Zero)
        {
            throw new InvalidOperationException("SSL_CTX_new(TLS_client_method) failed");
        }

        LibSsl.ContextCtrl(_context, LibSsl.CtrlSetMinProtocolVersion, tlsVersion, IntPtr.Zero);
        LibSsl.ContextCtrl(_context, LibSsl.CtrlSetMaxProtocolVersion, tlsVersion, IntPtr.Zero);
    }

    /// <summary>Did the last handshake resume the offered session (SSL_session_reused)?</summary>
    public bool Reused => LibSsl.SessionReused(_ssl) == 1;

    /// <summary>Protocol, cipher, key-exchange group and ALPN of the last handshake.</summary>
    public string Negotiated => BenchLibSsl.Describe(_ssl);

    /// <summary>A new connection; <paramref name="session"/> (or zero) is offered for resumption.</summary>
    public void Begin(IntPtr session)
    {
        _ssl = LibSsl.New(_context);
        _input = LibCrypto.BioNew(LibCrypto.BioMemoryMethod());
        _output = LibCrypto.BioNew(LibCrypto.BioMemoryMethod());
        LibSsl.SetBio(_ssl, _input, _output);
        BenchLibSsl.SetConnectState(_ssl);
        fixed (byte* name = HostName)
        {
            BenchLibSsl.Ctrl(_ssl, BenchLibSsl.CtrlSetTlsextHostname, 0, (IntPtr)name);
        }

        fixed (byte* alpn = Alpn)
        {
            if (BenchLibSsl.SetAlpnProtos(_ssl, alpn, (uint)Alpn.Length) != 0)
            {
                throw new InvalidOperationException("client SSL_set_alpn_protos failed");
            }
        }

        if (session != IntPtr.Zero && BenchLibSsl.SetSession(_ssl, session) != 1)
        {
            throw new InvalidOperationException("client SSL_set_session failed");
        }
    }

    /// <summary>Takes the server's flight, appends the client's answer to <paramref name="output"/>; true once done.</summary>
    public bool Step(ReadOnlySpan<byte> input, ByteSink output)
    {
        Put(input);
        LibCrypto.ErrorClear();
        int result = LibSsl.DoHandshake(_ssl);
        if (result != 1 && LibSsl.GetError(_ssl, result) != LibSsl.ErrorWantRead)
        {
            throw new InvalidOperationException($"client SSL_do_handshake failed: SSL_get_error {LibSsl.GetError(_ssl, result)}");
        }

        output.AppendFrom(_output);
        return result == 1;
    }

    /// <summary>Reads what the server sent after the handshake (TLS 1.3 NewSessionTicket): SSL_read consumes it.</summary>
    public void Absorb(ReadOnlySpan<byte> input)
    {
        Put(input);
        var plain = stackalloc byte[256];
        LibCrypto.ErrorClear();
        int result = LibSsl.Read(_ssl, plain, 256);
        if (result > 0 || LibSsl.GetError(_ssl, result) != LibSsl.ErrorWantRead)
        {
            throw new InvalidOperationException($"client SSL_read after the handshake: {result}, SSL_get_error {LibSsl.GetError(_ssl, result)}; only session tickets were expected");
        }
    }

    /// <summary>The session of the last handshake, to offer later (the caller frees it with SSL_SESSION_free).</summary>
    public IntPtr TakeSession()
    {
        var session = BenchLibSsl.GetSession(_ssl);
        if (session == IntPtr.Zero || BenchLibSsl.SessionIsResumable(session) != 1)
        {
            throw new InvalidOperationException("the server gave the client no resumable session (no ticket or session id)");
        }

        return session;
    }

    public void End()
    {
        // Marked as shut down: SSL_free of a connection that was not would take its session off the resumable list.
        BenchLibSsl.SetShutdown(_ssl, BenchLibSsl.SentAndReceivedShutdown);
        LibSsl.Free(_ssl);
        _ssl = IntPtr.Zero;
    }

    private void Put(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        fixed (byte* bytes = data)
        {
            if (LibCrypto.BioWrite(_input, bytes, data.Length) != data.Length)
            {
                throw new InvalidOperationException($"client BIO_write of {data.Length} B failed");
            }
        }
    }

    public void Dispose()
    {
        if (_ssl != IntPtr.Zero)
        {
            End();
        }

        LibSsl.ContextFree(_context);
    }
}
