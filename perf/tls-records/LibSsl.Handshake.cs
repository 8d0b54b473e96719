using System.Runtime.InteropServices;

namespace Fastsock.Perf.TlsRecords;

/// <summary>The libssl calls the handshake mode adds: sessions, ALPN, SNI, options (OpenSSL 3.0 numbering, ssl.h).</summary>
internal static unsafe partial class LibSsl
{
    public const int CtrlMode = 33;
    public const int CtrlSetTlsextHostname = 55;
    public const int CtrlGetNegotiatedGroup = 134;
    public const long ModeEnablePartialWrite = 0x1;
    public const long ModeAcceptMovingWriteBuffer = 0x2;
    public const ulong OpNoTicket = 1UL << 14;
    public const ulong OpNoSessionResumptionOnRenegotiation = 1UL << 16;
    public const ulong OpNoCompression = 1UL << 17;
    public const ulong OpCipherServerPreference = 1UL << 22;
    public const int TlsextErrOk = 0;
    public const int TlsextErrNoAck = 3;
    public const int NpnNegotiated = 1;
    public const int SentAndReceivedShutdown = 3; // SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN

    [LibraryImport(Ssl, EntryPoint = "SSL_ctrl")]
    public static partial long Ctrl(IntPtr ssl, int cmd, long larg, IntPtr parg);

    [LibraryImport(Ssl, EntryPoint = "SSL_CTX_set_options")]
    public static partial ulong CtxSetOptions(IntPtr ctx, ulong options);

    [LibraryImport(Ssl, EntryPoint = "SSL_CTX_get_options")]
    public static partial ulong CtxGetOptions(IntPtr ctx);

    [LibraryImport(Ssl, EntryPoint = "SSL_CTX_set_session_id_context")]
    public static partial int CtxSetSessionIdContext(IntPtr ctx, byte* id, uint length);

    [LibraryImport(Ssl, EntryPoint = "SSL_CTX_set_alpn_select_cb")]
    public static partial void CtxSetAlpnSelectCallback(IntPtr ctx, delegate* unmanaged<IntPtr, byte**, byte*, byte*, uint, IntPtr, int> callback, IntPtr arg);

    [LibraryImport(Ssl, EntryPoint = "SSL_select_next_proto")]
    public static partial int SelectNextProto(byte** output, byte* outputLength, byte* server, uint serverLength, byte* client, uint clientLength);

    [LibraryImport(Ssl, EntryPoint = "SSL_set_alpn_protos")]
    public static partial int SetAlpnProtos(IntPtr ssl, byte* protocols, uint length);

    [LibraryImport(Ssl, EntryPoint = "SSL_get0_alpn_selected")]
    public static partial void GetAlpnSelected(IntPtr ssl, byte** data, uint* length);

    [LibraryImport(Ssl, EntryPoint = "SSL_session_reused")]
    public static partial int SessionReused(IntPtr ssl);

    [LibraryImport(Ssl, EntryPoint = "SSL_get1_session")]
    public static partial IntPtr GetSession(IntPtr ssl);

    [LibraryImport(Ssl, EntryPoint = "SSL_set_session")]
    public static partial int SetSession(IntPtr ssl, IntPtr session);

    [LibraryImport(Ssl, EntryPoint = "SSL_SESSION_is_resumable")]
    public static partial int SessionIsResumable(IntPtr session);

    [LibraryImport(Ssl, EntryPoint = "SSL_shutdown")]
    public static partial int Shutdown(IntPtr ssl);

    [LibraryImport(Ssl, EntryPoint = "SSL_set_shutdown")]
    public static partial void SetShutdown(IntPtr ssl, int mode);

    [LibraryImport(Ssl, EntryPoint = "SSL_SESSION_free")]
    public static partial void SessionFree(IntPtr session);

    [LibraryImport(Crypto, EntryPoint = "OBJ_nid2sn")]
    public static partial IntPtr ObjNidToShortName(int nid);

    /// <summary>"TLSv1.3 TLS_AES_256_GCM_SHA384 X25519 http/1.1": what one handshake agreed on.</summary>
    public static string Describe(IntPtr ssl)
    {
        byte* alpn;
        uint alpnLength;
        GetAlpnSelected(ssl, &alpn, &alpnLength);
        long group = Ctrl(ssl, CtrlGetNegotiatedGroup, 0, IntPtr.Zero);
        string groupName = group > 0 ? Text(ObjNidToShortName((int)group)) : $"group {group}";
        string protocol = alpnLength == 0 ? "no ALPN" : System.Text.Encoding.ASCII.GetString(alpn, (int)alpnLength);
        return $"{Text(GetVersion(ssl))} {Text(CipherGetName(GetCurrentCipher(ssl)))} {groupName} {protocol}";
    }
}
