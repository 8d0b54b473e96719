using System.Runtime.InteropServices;

namespace Fastsock.Transport.Tls.OpenSsl;

/// <summary>
/// The libssl calls of the OpenSSL server engine (OpenSSL 3 numbering, ssl.h). Macros of ssl.h are written as the
/// ctrl calls they expand to. Every call that reports through the error queue is preceded by ERR_clear_error.
/// </summary>
internal static unsafe partial class LibSsl
{
    public const string Library = "libssl.so.3";

    public const int ErrorNone = 0;
    public const int ErrorSsl = 1;
    public const int ErrorWantRead = 2;
    public const int ErrorWantWrite = 3;
    public const int ErrorSyscall = 5;
    public const int ErrorZeroReturn = 6;

    public const int CtrlMode = 33;
    public const long ModeReleaseBuffers = 0x10;
    public const int CtrlSetTlsextServerNameCallback = 53;
    public const int CtrlSetTlsextServerNameArgument = 54;
    public const int CtrlChainCertificate = 89;
    public const int CtrlSetMinProtocolVersion = 123;
    public const int CtrlSetMaxProtocolVersion = 124;

    public const ulong OptionNoCompression = 1UL << 17;
    public const ulong OptionCipherServerPreference = 1UL << 22;
    public const ulong OptionNoRenegotiation = 1UL << 30;

    public const int Tls12Version = 0x0303;
    public const int Tls13Version = 0x0304;

    public const int TlsextNameTypeHostName = 0;
    public const int TlsextErrorOk = 0;
    public const int TlsextErrorAlertFatal = 2;
    public const int NextProtocolNegotiated = 1;

    [LibraryImport(Library, EntryPoint = "TLS_server_method")]
    public static partial IntPtr TlsServerMethod();

    [LibraryImport(Library, EntryPoint = "SSL_CTX_new")]
    public static partial IntPtr ContextNew(IntPtr method);

    [LibraryImport(Library, EntryPoint = "SSL_CTX_free")]
    public static partial void ContextFree(IntPtr context);

    [LibraryImport(Library, EntryPoint = "SSL_CTX_ctrl")]
    public static partial long ContextCtrl(IntPtr context, int command, long larg, IntPtr parg);

    [LibraryImport(Library, EntryPoint = "SSL_CTX_callback_ctrl")]
    public static partial long ContextCallbackCtrl(IntPtr context, int command, IntPtr callback);

    [LibraryImport(Library, EntryPoint = "SSL_CTX_set_options")]
    public static partial ulong ContextSetOptions(IntPtr context, ulong options);

    [LibraryImport(Library, EntryPoint = "SSL_CTX_use_certificate")]
    public static partial int ContextUseCertificate(IntPtr context, IntPtr x509);

    [LibraryImport(Library, EntryPoint = "SSL_CTX_use_PrivateKey")]
    public static partial int ContextUsePrivateKey(IntPtr context, IntPtr key);

    [LibraryImport(Library, EntryPoint = "SSL_CTX_check_private_key")]
    public static partial int ContextCheckPrivateKey(IntPtr context);

    [LibraryImport(Library, EntryPoint = "SSL_CTX_set_session_id_context")]
    public static partial int ContextSetSessionIdContext(IntPtr context, byte* id, uint length);

    [LibraryImport(Library, EntryPoint = "SSL_CTX_set_alpn_select_cb")]
    public static partial void ContextSetAlpnSelectCallback(IntPtr context, delegate* unmanaged<IntPtr, byte**, byte*, byte*, uint, IntPtr, int> callback, IntPtr argument);

    [LibraryImport(Library, EntryPoint = "SSL_select_next_proto")]
    public static partial int SelectNextProtocol(byte** output, byte* outputLength, byte* server, uint serverLength, byte* client, uint clientLength);

    [LibraryImport(Library, EntryPoint = "SSL_new")]
    public static partial IntPtr New(IntPtr context);

    [LibraryImport(Library, EntryPoint = "SSL_free")]
    public static partial void Free(IntPtr ssl);

    [LibraryImport(Library, EntryPoint = "SSL_set_bio")]
    public static partial void SetBio(IntPtr ssl, IntPtr readBio, IntPtr writeBio);

    [LibraryImport(Library, EntryPoint = "SSL_set_accept_state")]
    public static partial void SetAcceptState(IntPtr ssl);

    [LibraryImport(Library, EntryPoint = "SSL_set_SSL_CTX")]
    public static partial IntPtr SetContext(IntPtr ssl, IntPtr context);

    [LibraryImport(Library, EntryPoint = "SSL_get_SSL_CTX")]
    public static partial IntPtr GetContext(IntPtr ssl);

    [LibraryImport(Library, EntryPoint = "SSL_do_handshake")]
    public static partial int DoHandshake(IntPtr ssl);

    [LibraryImport(Library, EntryPoint = "SSL_read")]
    public static partial int Read(IntPtr ssl, byte* buffer, int count);

    [LibraryImport(Library, EntryPoint = "SSL_write")]
    public static partial int Write(IntPtr ssl, byte* buffer, int count);

    [LibraryImport(Library, EntryPoint = "SSL_shutdown")]
    public static partial int Shutdown(IntPtr ssl);

    [LibraryImport(Library, EntryPoint = "SSL_get_error")]
    public static partial int GetError(IntPtr ssl, int result);

    [LibraryImport(Library, EntryPoint = "SSL_pending")]
    public static partial int Pending(IntPtr ssl);

    [LibraryImport(Library, EntryPoint = "SSL_has_pending")]
    public static partial int HasPending(IntPtr ssl);

    [LibraryImport(Library, EntryPoint = "SSL_version")]
    public static partial int Version(IntPtr ssl);

    [LibraryImport(Library, EntryPoint = "SSL_get_current_cipher")]
    public static partial IntPtr GetCurrentCipher(IntPtr ssl);

    [LibraryImport(Library, EntryPoint = "SSL_CIPHER_get_protocol_id")]
    public static partial ushort CipherGetProtocolId(IntPtr cipher);

    [LibraryImport(Library, EntryPoint = "SSL_get0_alpn_selected")]
    public static partial void GetAlpnSelected(IntPtr ssl, byte** data, uint* length);

    [LibraryImport(Library, EntryPoint = "SSL_session_reused")]
    public static partial int SessionReused(IntPtr ssl);

    [LibraryImport(Library, EntryPoint = "SSL_get_servername")]
    public static partial byte* GetServerName(IntPtr ssl, int type);

    // Ticket keys of a context (ssl.h, OpenSSL 3): 16 bytes of key name, 32 of HMAC secret, 32 of AES key; ctrl returns 1 on success.
    public const int CtrlSetTlsextTicketKeys = 59;
    public const int TicketKeysLength = 80;

    /// <summary>SSL_MAX_SID_CTX_LENGTH: the longest session id context a context takes.</summary>
    public const int MaxSessionIdContextLength = 32;

    /// <summary>SSL_CTX_set_tlsext_ticket_key_evp_cb: OpenSSL asks the callback to seal (enc 1) or open (enc 0) each ticket.</summary>
    [LibraryImport(Library, EntryPoint = "SSL_CTX_set_tlsext_ticket_key_evp_cb")]
    public static partial int ContextSetTicketKeyCallback(IntPtr context, delegate* unmanaged<IntPtr, byte*, byte*, IntPtr, IntPtr, int, int> callback);

    [LibraryImport(Library, EntryPoint = "SSL_CTX_set_ex_data")]
    public static partial int ContextSetExData(IntPtr context, int index, IntPtr data);

    [LibraryImport(Library, EntryPoint = "SSL_CTX_get_ex_data")]
    public static partial IntPtr ContextGetExData(IntPtr context, int index);
}
