using System.Runtime.InteropServices;
using Fastsock.Transport.Tls.OpenSsl;

namespace Fastsock.Perf.TlsRecords;

/// <summary>
/// (b) libssl directly, set up the way HAProxy sets up a <c>bind … ssl crt FILE alpn http/1.1</c> frontend: one SSL_CTX
/// with the certificate and key, TLS 1.2 minimum, session tickets on and OpenSSL's internal server session cache
/// (HAProxy keeps its own shared cache instead; both store one session per full TLS 1.2 handshake), the server's cipher
/// preference, no compression, no resumption on renegotiation, SSL_MODE_RELEASE_BUFFERS, a session id context and an
/// ALPN select callback over SSL_select_next_proto. Per connection: SSL_new, two memory BIOs, SSL_set_accept_state,
/// SSL_do_handshake until it returns 1, SSL_shutdown, SSL_free. (HAProxy's BIO reads the socket; here a memory BIO is fed.)
/// </summary>
internal sealed unsafe class LibSslHandshakeServer : IHandshakeServer
{
    private static readonly byte* ServerAlpn = AllocateAlpn();
    private static readonly byte[] SessionIdContext = "fastsock-bench"u8.ToArray();

    private readonly IntPtr _context;
    private IntPtr _ssl;
    private IntPtr _input;
    private IntPtr _output;

    public LibSslHandshakeServer(string certificatePem, string keyPem)
    {
        _context = LibSsl.ContextNew(LibSsl.TlsServerMethod());
        if (_context == IntPtr.Zero)
        {
            throw new InvalidOperationException("SSL_CTX_new(TLS_server_method) failed");
        }

        if (BenchLibSsl.CtxUseCertificateFile(_context, certificatePem, BenchLibSsl.FileTypePem) != 1
            || BenchLibSsl.CtxUsePrivateKeyFile(_context, keyPem, BenchLibSsl.FileTypePem) != 1)
        {
            throw new InvalidOperationException($"libssl could not load {certificatePem} / {keyPem}");
        }

        LibSsl.ContextCtrl(_context, LibSsl.CtrlSetMinProtocolVersion, LibSsl.Tls12Version, IntPtr.Zero);
        LibSsl.ContextSetOptions(_context, LibSsl.OptionNoCompression | BenchLibSsl.OpNoSessionResumptionOnRenegotiation | LibSsl.OptionCipherServerPreference);
        LibSsl.ContextCtrl(_context, LibSsl.CtrlMode, BenchLibSsl.ModeEnablePartialWrite | BenchLibSsl.ModeAcceptMovingWriteBuffer | LibSsl.ModeReleaseBuffers, IntPtr.Zero);
        if ((BenchLibSsl.CtxGetOptions(_context) & BenchLibSsl.OpNoTicket) != 0)
        {
            throw new InvalidOperationException("libssl server context has SSL_OP_NO_TICKET set; session tickets must be on");
        }

        fixed (byte* id = SessionIdContext)
        {
            if (LibSsl.ContextSetSessionIdContext(_context, id, (uint)SessionIdContext.Length) != 1)
            {
                throw new InvalidOperationException("SSL_CTX_set_session_id_context failed");
            }
        }

        LibSsl.ContextSetAlpnSelectCallback(_context, &SelectAlpn, IntPtr.Zero);
    }

    public string Name => "libssl";

    public bool? Reused => LibSsl.SessionReused(_ssl) == 1;

    public bool Accept(ReadOnlySpan<byte> clientHello, ByteSink output)
    {
        _ssl = LibSsl.New(_context);
        _input = LibCrypto.BioNew(LibCrypto.BioMemoryMethod());
        _output = LibCrypto.BioNew(LibCrypto.BioMemoryMethod());
        LibSsl.SetBio(_ssl, _input, _output);
        LibSsl.SetAcceptState(_ssl);
        return Continue(clientHello, output);
    }

    public bool Continue(ReadOnlySpan<byte> input, ByteSink output)
    {
        fixed (byte* bytes = input)
        {
            if (LibCrypto.BioWrite(_input, bytes, input.Length) != input.Length)
            {
                throw new InvalidOperationException($"server BIO_write of {input.Length} B failed");
            }
        }

        LibCrypto.ErrorClear();
        int result = LibSsl.DoHandshake(_ssl);
        if (result != 1 && LibSsl.GetError(_ssl, result) != LibSsl.ErrorWantRead)
        {
            throw new InvalidOperationException($"server SSL_do_handshake failed: SSL_get_error {LibSsl.GetError(_ssl, result)}");
        }

        output.AppendFrom(_output);
        return result == 1;
    }

    public void Close()
    {
        // HAProxy closes a clean connection with SSL_shutdown (a close_notify) before SSL_free, as SslStream's dispose
        // does; without it SSL_free would also drop the session from the server's cache.
        LibCrypto.ErrorClear();
        _ = LibSsl.Shutdown(_ssl); // 0 or 1: close_notify written; the peer's is not awaited
        LibSsl.Free(_ssl);
        _ssl = IntPtr.Zero;
    }

    public void Dispose()
    {
        if (_ssl != IntPtr.Zero)
        {
            Close();
        }

        LibSsl.ContextFree(_context);
    }

    /// <summary>HAProxy's choice: the first of the server's protocols the client offers, else no ALPN answer.</summary>
    [UnmanagedCallersOnly]
    private static int SelectAlpn(IntPtr ssl, byte** output, byte* outputLength, byte* offered, uint offeredLength, IntPtr arg) =>
        LibSsl.SelectNextProtocol(output, outputLength, ServerAlpn, 9, offered, offeredLength) == LibSsl.NextProtocolNegotiated
            ? LibSsl.TlsextErrorOk
            : BenchLibSsl.TlsextErrNoAck;

    private static byte* AllocateAlpn()
    {
        // OpenSSL keeps a pointer into this list after the callback returns: native memory that never moves or dies.
        var alpn = (byte*)NativeMemory.Alloc(9);
        "\u0008http/1.1"u8.CopyTo(new Span<byte>(alpn, 9));
        return alpn;
    }
}
