using System.Runtime.InteropServices;

namespace Fastsock.Perf.TlsRecords;

/// <summary>The few libssl/libcrypto calls a memory-BIO TLS endpoint needs (OpenSSL 3, the library SslStream uses here).</summary>
internal static partial class LibSsl
{
    private const string Ssl = "libssl.so.3";
    private const string Crypto = "libcrypto.so.3";

    public const int FileTypePem = 1;
    public const int ErrorWantRead = 2;
    public const long ModeReleaseBuffers = 0x10;

    [LibraryImport(Ssl, EntryPoint = "TLS_server_method")]
    public static partial IntPtr TlsServerMethod();

    [LibraryImport(Ssl, EntryPoint = "TLS_client_method")]
    public static partial IntPtr TlsClientMethod();

    [LibraryImport(Ssl, EntryPoint = "SSL_CTX_new")]
    public static partial IntPtr CtxNew(IntPtr method);

    [LibraryImport(Ssl, EntryPoint = "SSL_CTX_free")]
    public static partial void CtxFree(IntPtr ctx);

    [LibraryImport(Ssl, EntryPoint = "SSL_CTX_use_certificate_file", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int CtxUseCertificateFile(IntPtr ctx, string path, int type);

    [LibraryImport(Ssl, EntryPoint = "SSL_CTX_use_PrivateKey_file", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int CtxUsePrivateKeyFile(IntPtr ctx, string path, int type);

    /// <summary>SSL_CTX_set_min/max_proto_version are macros over SSL_CTX_ctrl (123 = min, 124 = max).</summary>
    [LibraryImport(Ssl, EntryPoint = "SSL_CTX_ctrl")]
    public static partial long CtxCtrl(IntPtr ctx, int cmd, long larg, IntPtr parg);

    [LibraryImport(Ssl, EntryPoint = "SSL_new")]
    public static partial IntPtr New(IntPtr ctx);

    [LibraryImport(Ssl, EntryPoint = "SSL_free")]
    public static partial void Free(IntPtr ssl);

    [LibraryImport(Ssl, EntryPoint = "SSL_set_bio")]
    public static partial void SetBio(IntPtr ssl, IntPtr rbio, IntPtr wbio);

    [LibraryImport(Ssl, EntryPoint = "SSL_set_accept_state")]
    public static partial void SetAcceptState(IntPtr ssl);

    [LibraryImport(Ssl, EntryPoint = "SSL_set_connect_state")]
    public static partial void SetConnectState(IntPtr ssl);

    [LibraryImport(Ssl, EntryPoint = "SSL_do_handshake")]
    public static partial int DoHandshake(IntPtr ssl);

    [LibraryImport(Ssl, EntryPoint = "SSL_read")]
    public static unsafe partial int Read(IntPtr ssl, byte* buffer, int count);

    [LibraryImport(Ssl, EntryPoint = "SSL_write")]
    public static unsafe partial int Write(IntPtr ssl, byte* buffer, int count);

    [LibraryImport(Ssl, EntryPoint = "SSL_get_error")]
    public static partial int GetError(IntPtr ssl, int result);

    [LibraryImport(Ssl, EntryPoint = "SSL_get_version")]
    public static partial IntPtr GetVersion(IntPtr ssl);

    [LibraryImport(Ssl, EntryPoint = "SSL_get_current_cipher")]
    public static partial IntPtr GetCurrentCipher(IntPtr ssl);

    [LibraryImport(Ssl, EntryPoint = "SSL_CIPHER_get_name")]
    public static partial IntPtr CipherGetName(IntPtr cipher);

    [LibraryImport(Crypto, EntryPoint = "BIO_s_mem")]
    public static partial IntPtr BioSMem();

    [LibraryImport(Crypto, EntryPoint = "BIO_new")]
    public static partial IntPtr BioNew(IntPtr method);

    [LibraryImport(Crypto, EntryPoint = "BIO_read")]
    public static unsafe partial int BioRead(IntPtr bio, byte* buffer, int count);

    [LibraryImport(Crypto, EntryPoint = "BIO_write")]
    public static unsafe partial int BioWrite(IntPtr bio, byte* buffer, int count);

    [LibraryImport(Crypto, EntryPoint = "BIO_ctrl_pending")]
    public static partial nuint BioCtrlPending(IntPtr bio);

    [LibraryImport(Crypto, EntryPoint = "ERR_clear_error")]
    public static partial void ErrClearError();

    public static string Text(IntPtr utf8) => Marshal.PtrToStringUTF8(utf8) ?? "?";
}
