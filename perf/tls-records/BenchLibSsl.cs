using System.Runtime.InteropServices;
using Fastsock.Transport.Tls.OpenSsl;

namespace Fastsock.Perf.TlsRecords;

/// <summary>
/// The libssl calls only this benchmark makes, beside the runtime's own <see cref="LibSsl"/> and
/// <see cref="LibCrypto"/> (which it uses for everything they declare): a client side, PEM files, sessions kept for
/// resumption, and what a handshake agreed on as text (OpenSSL 3.0 numbering, ssl.h).
/// </summary>
internal static unsafe partial class BenchLibSsl
{
    public const int FileTypePem = 1;
    public const int CtrlSetTlsextHostname = 55;
    public const int CtrlGetNegotiatedGroup = 134;
    public const long ModeEnablePartialWrite = 0x1;
    public const long ModeAcceptMovingWriteBuffer = 0x2;
    public const ulong OpNoTicket = 1UL << 14;
    public const ulong OpNoSessionResumptionOnRenegotiation = 1UL << 16;
    public const int TlsextErrNoAck = 3;
    public const int SentAndReceivedShutdown = 3; // SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN

    [LibraryImport(LibSsl.Library, EntryPoint = "TLS_client_method")]
    public static partial IntPtr TlsClientMethod();

    [LibraryImport(LibSsl.Library, EntryPoint = "SSL_CTX_use_certificate_file", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int CtxUseCertificateFile(IntPtr ctx, string path, int type);

    [LibraryImport(LibSsl.Library, EntryPoint = "SSL_CTX_use_PrivateKey_file", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int CtxUsePrivateKeyFile(IntPtr ctx, string path, int type);

    [LibraryImport(LibSsl.Library, EntryPoint = "SSL_CTX_get_options")]
    public static partial ulong CtxGetOptions(IntPtr ctx);

    [LibraryImport(LibSsl.Library, EntryPoint = "SSL_set_connect_state")]
    public static partial void SetConnectState(IntPtr ssl);

    [LibraryImport(LibSsl.Library, EntryPoint = "SSL_ctrl")]
    public static partial long Ctrl(IntPtr ssl, int cmd, long larg, IntPtr parg);

    [LibraryImport(LibSsl.Library, EntryPoint = "SSL_set_alpn_protos")]
    public static partial int SetAlpnProtos(IntPtr ssl, byte* protocols, uint length);

    [LibraryImport(LibSsl.Library, EntryPoint = "SSL_get_version")]
    public static partial IntPtr GetVersion(IntPtr ssl);

    [LibraryImport(LibSsl.Library, EntryPoint = "SSL_CIPHER_get_name")]
    public static partial IntPtr CipherGetName(IntPtr cipher);

    [LibraryImport(LibSsl.Library, EntryPoint = "SSL_get1_session")]
    public static partial IntPtr GetSession(IntPtr ssl);

    [LibraryImport(LibSsl.Library, EntryPoint = "SSL_set_session")]
    public static partial int SetSession(IntPtr ssl, IntPtr session);

    [LibraryImport(LibSsl.Library, EntryPoint = "SSL_SESSION_is_resumable")]
    public static partial int SessionIsResumable(IntPtr session);

    [LibraryImport(LibSsl.Library, EntryPoint = "SSL_set_shutdown")]
    public static partial void SetShutdown(IntPtr ssl, int mode);

    [LibraryImport(LibSsl.Library, EntryPoint = "SSL_SESSION_free")]
    public static partial void SessionFree(IntPtr session);

    [LibraryImport(LibCrypto.Library, EntryPoint = "OBJ_nid2sn")]
    public static partial IntPtr ObjNidToShortName(int nid);

    public static string Text(IntPtr utf8) => Marshal.PtrToStringUTF8(utf8) ?? "?";

    /// <summary>"TLSv1.3 TLS_AES_256_GCM_SHA384 X25519 http/1.1": what one handshake agreed on.</summary>
    public static string Describe(IntPtr ssl)
    {
        byte* alpn;
        uint alpnLength;
        LibSsl.GetAlpnSelected(ssl, &alpn, &alpnLength);
        long group = Ctrl(ssl, CtrlGetNegotiatedGroup, 0, IntPtr.Zero);
        string groupName = group > 0 ? Text(ObjNidToShortName((int)group)) : $"group {group}";
        string protocol = alpnLength == 0 ? "no ALPN" : System.Text.Encoding.ASCII.GetString(alpn, (int)alpnLength);
        return $"{Text(GetVersion(ssl))} {Text(CipherGetName(LibSsl.GetCurrentCipher(ssl)))} {groupName} {protocol}";
    }
}
