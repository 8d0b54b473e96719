using System.Runtime.InteropServices;

namespace Fastsock.Transport.Tls.OpenSsl;

/// <summary>The libcrypto calls of the OpenSSL server engine: memory BIOs, the error queue, DER certificates and keys.</summary>
internal static unsafe partial class LibCrypto
{
    public const string Library = "libcrypto.so.3";

    /// <summary>BIO_get_mem_data is BIO_ctrl(BIO_CTRL_INFO): the unread bytes of a memory BIO and their count.</summary>
    public const int BioCtrlInfo = 3;

    [LibraryImport(Library, EntryPoint = "OpenSSL_version_num")]
    public static partial ulong VersionNumber();

    [LibraryImport(Library, EntryPoint = "BIO_s_mem")]
    public static partial IntPtr BioMemoryMethod();

    [LibraryImport(Library, EntryPoint = "BIO_new")]
    public static partial IntPtr BioNew(IntPtr method);

    [LibraryImport(Library, EntryPoint = "BIO_free")]
    public static partial int BioFree(IntPtr bio);

    [LibraryImport(Library, EntryPoint = "BIO_read")]
    public static partial int BioRead(IntPtr bio, byte* buffer, int count);

    [LibraryImport(Library, EntryPoint = "BIO_write")]
    public static partial int BioWrite(IntPtr bio, byte* buffer, int count);

    [LibraryImport(Library, EntryPoint = "BIO_ctrl")]
    public static partial long BioCtrl(IntPtr bio, int command, long larg, void* parg);

    [LibraryImport(Library, EntryPoint = "BIO_ctrl_pending")]
    public static partial nuint BioPending(IntPtr bio);

    [LibraryImport(Library, EntryPoint = "ERR_clear_error")]
    public static partial void ErrorClear();

    [LibraryImport(Library, EntryPoint = "ERR_peek_last_error")]
    public static partial ulong ErrorPeekLast();

    [LibraryImport(Library, EntryPoint = "ERR_error_string_n")]
    public static partial void ErrorString(ulong error, byte* buffer, nuint length);

    [LibraryImport(Library, EntryPoint = "d2i_X509")]
    public static partial IntPtr DecodeX509(IntPtr reuse, byte** input, long length);

    [LibraryImport(Library, EntryPoint = "X509_free")]
    public static partial void X509Free(IntPtr x509);

    [LibraryImport(Library, EntryPoint = "d2i_AutoPrivateKey")]
    public static partial IntPtr DecodePrivateKey(IntPtr reuse, byte** input, long length);

    [LibraryImport(Library, EntryPoint = "EVP_PKEY_free")]
    public static partial void KeyFree(IntPtr key);

    /// <summary>OpenSSL's text for an error code ("error:0A000076:SSL routines::no suitable signature algorithm"); "no error" for 0.</summary>
    public static string ErrorText(ulong error)
    {
        if (error == 0)
        {
            return "no error";
        }

        var buffer = stackalloc byte[256];
        ErrorString(error, buffer, 256);
        return Marshal.PtrToStringUTF8((IntPtr)buffer) ?? $"error {error:X}";
    }

    /// <summary>The text of the last error on this thread's queue, for a failure raised while building contexts.</summary>
    public static string LastErrorText() => ErrorText(ErrorPeekLast());
}
