using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;

namespace Fastsock.Transport.Tls.OpenSsl;

/// <summary>
/// One server SSL over two memory BIOs: ciphertext from the connection's input goes into the read BIO
/// (<see cref="Feed"/>), what OpenSSL writes is moved from the write BIO straight into the connection's output memory
/// (<see cref="DrainTo"/>). Used only on the connection's worker. The error queue is cleared before every SSL_ I/O
/// call, as SSL_get_error requires; the code of a failure is kept (<see cref="LastError"/>) and turned into text only
/// when someone asks.
/// </summary>
internal sealed unsafe class OpenSslSession : IDisposable
{
    private const int RecordHeader = 5;

    private readonly SslHandle _handle;
    private readonly IntPtr _ssl;
    private readonly IntPtr _input;
    private readonly IntPtr _output;
    private bool _freed;

    public OpenSslSession(SslContextHandle context)
    {
        IntPtr ssl = LibSsl.New(context.DangerousGetHandle());
        if (ssl == IntPtr.Zero)
        {
            throw new InvalidOperationException($"OpenSSL SSL_new failed: {LibCrypto.LastErrorText()}; the process may be out of memory.");
        }

        _handle = new SslHandle(ssl);
        _ssl = ssl;
        _input = LibCrypto.BioNew(LibCrypto.BioMemoryMethod());
        _output = LibCrypto.BioNew(LibCrypto.BioMemoryMethod());
        if (_input == IntPtr.Zero || _output == IntPtr.Zero)
        {
            FreeBio(_input);
            FreeBio(_output);
            _handle.Dispose();
            throw new InvalidOperationException("OpenSSL BIO_new(BIO_s_mem) failed; the process may be out of memory.");
        }

        LibSsl.SetBio(ssl, _input, _output);
        LibSsl.SetAcceptState(ssl);
    }

    /// <summary>A record after the handshake failed (a bad MAC, a bad decode): OpenSSL queued a fatal alert.</summary>
    public bool RecordRejected { get; private set; }

    /// <summary>The OpenSSL error code of the last failed call (0: none, or a failure that queued none).</summary>
    public ulong LastError { get; private set; }

    /// <summary>OpenSSL's text for <see cref="LastError"/>, with the SSL_get_error code of the failure.</summary>
    public string LastErrorText => $"{LibCrypto.ErrorText(LastError)} (SSL_get_error {LastErrorKind})";

    private int LastErrorKind { get; set; }

    /// <summary>Bytes of ciphertext waiting in the write BIO.</summary>
    public nuint PendingOutput => LibCrypto.BioPending(Output);

    /// <summary>Ciphertext is waiting to be sent.</summary>
    public bool HasOutput => PendingOutput > 0;

    /// <summary>
    /// SSL_read would give plaintext or act on a record: OpenSSL holds data of its own, or a whole record waits in the
    /// read BIO. Only whole records are handed to SSL_read, so a plaintext block is taken only when it can be filled.
    /// </summary>
    public bool CanRead
    {
        get
        {
            if (LibSsl.HasPending(Ssl) != 0)
            {
                return true;
            }

            byte* data;
            long length = LibCrypto.BioCtrl(Input, LibCrypto.BioCtrlInfo, 0, &data);
            return length >= RecordHeader && length >= RecordHeader + ((data[3] << 8) | data[4]);
        }
    }

    public void Feed(in ReadOnlySequence<byte> ciphertext)
    {
        foreach (var segment in ciphertext)
        {
            fixed (byte* bytes = segment.Span)
            {
                if (LibCrypto.BioWrite(Input, bytes, segment.Length) != segment.Length)
                {
                    throw new InvalidOperationException($"OpenSSL BIO_write of {segment.Length} B to a memory BIO failed; the process may be out of memory.");
                }
            }
        }
    }

    /// <summary>Moves everything OpenSSL has written into <paramref name="output"/> (not flushed).</summary>
    public void DrainTo(PipeWriter output)
    {
        nuint pending;
        while ((pending = LibCrypto.BioPending(Output)) > 0)
        {
            var span = output.GetSpan((int)Math.Min(pending, 16 * 1024));
            int read;
            fixed (byte* bytes = span)
            {
                read = LibCrypto.BioRead(Output, bytes, span.Length);
            }

            if (read <= 0)
            {
                return;
            }

            output.Advance(read);
        }
    }

    /// <summary>One SSL_do_handshake step: true when done, false when it needs more input, an error when it failed.</summary>
    public HandshakeStep Handshake()
    {
        LibCrypto.ErrorClear();
        int result = LibSsl.DoHandshake(Ssl);
        if (result == 1)
        {
            return HandshakeStep.Done;
        }

        int error = LibSsl.GetError(Ssl, result);
        if (error == LibSsl.ErrorWantRead)
        {
            return HandshakeStep.WantRead;
        }

        Fail(error);
        return HandshakeStep.Failed;
    }

    /// <summary>SSL_read into <paramref name="plaintext"/>: the byte count, 0 for "needs more input", -1 at close_notify; throws on a bad record.</summary>
    public int Read(Span<byte> plaintext)
    {
        int result;
        LibCrypto.ErrorClear();
        fixed (byte* bytes = plaintext)
        {
            result = LibSsl.Read(Ssl, bytes, plaintext.Length);
        }

        if (result > 0)
        {
            return result;
        }

        int error = LibSsl.GetError(Ssl, result);
        if (error == LibSsl.ErrorWantRead)
        {
            return 0;
        }

        if (error == LibSsl.ErrorZeroReturn)
        {
            return -1;
        }

        Fail(error);
        RecordRejected = true;
        throw new IOException($"TLS record from the client rejected: {LastErrorText}.");
    }

    /// <summary>SSL_write of <paramref name="plaintext"/> (at most 16 KiB: one record) into the write BIO.</summary>
    public void Write(ReadOnlySpan<byte> plaintext)
    {
        int result;
        LibCrypto.ErrorClear();
        fixed (byte* bytes = plaintext)
        {
            result = LibSsl.Write(Ssl, bytes, plaintext.Length);
        }

        if (result != plaintext.Length)
        {
            Fail(LibSsl.GetError(Ssl, result));
            throw new IOException($"TLS write of {plaintext.Length} B failed: {LastErrorText}.");
        }
    }

    /// <summary>Writes a close_notify into the write BIO (the client's is not waited for).</summary>
    public void Shutdown()
    {
        LibCrypto.ErrorClear();
        _ = LibSsl.Shutdown(Ssl);
    }

    public SslProtocols Protocol
    {
        get
        {
            int version = LibSsl.Version(Ssl);

            // The analyzer reads OpenSSL's wire version numbers (0x0304) as SslProtocols values; nothing is pinned here.
#pragma warning disable CA5397
            return version == LibSsl.Tls13Version ? SslProtocols.Tls13 : version == LibSsl.Tls12Version ? SslProtocols.Tls12 : SslProtocols.None;
#pragma warning restore CA5397
        }
    }

    public TlsCipherSuite CipherSuite
    {
        get
        {
            IntPtr cipher = LibSsl.GetCurrentCipher(Ssl);
            return cipher == IntPtr.Zero ? default : (TlsCipherSuite)LibSsl.CipherGetProtocolId(cipher);
        }
    }

    public bool Resumed => LibSsl.SessionReused(Ssl) == 1;

    /// <summary>The ALPN protocol OpenSSL selected, valid as long as the session; empty when none.</summary>
    public ReadOnlySpan<byte> SelectedProtocol
    {
        get
        {
            byte* data;
            uint length;
            LibSsl.GetAlpnSelected(Ssl, &data, &length);
            return data is null ? default : new ReadOnlySpan<byte>(data, (int)length);
        }
    }

    /// <summary>The SNI name the client sent; empty when none.</summary>
    public string ServerName
    {
        get
        {
            byte* name = LibSsl.GetServerName(Ssl, LibSsl.TlsextNameTypeHostName);
            return name is null ? "" : System.Runtime.InteropServices.Marshal.PtrToStringUTF8((IntPtr)name) ?? "";
        }
    }

    /// <summary>SSL_free, once: the BIOs go with it. Any later call throws instead of touching freed memory.</summary>
    public void Dispose()
    {
        _freed = true;
        _handle.Dispose();
    }

    private IntPtr Ssl => _freed ? throw new ObjectDisposedException(nameof(OpenSslSession)) : _ssl;

    private IntPtr Input => _freed ? throw new ObjectDisposedException(nameof(OpenSslSession)) : _input;

    private IntPtr Output => _freed ? throw new ObjectDisposedException(nameof(OpenSslSession)) : _output;

    private void Fail(int error)
    {
        LastErrorKind = error;
        LastError = LibCrypto.ErrorPeekLast();
    }

    private static void FreeBio(IntPtr bio)
    {
        if (bio != IntPtr.Zero)
        {
            _ = LibCrypto.BioFree(bio);
        }
    }
}
