using System.Runtime.InteropServices;

namespace Fastsock.Transport.Tls.OpenSsl;

/// <summary>
/// The libcrypto calls that seal and open session tickets with keys of our own (<see cref="TicketKeyCallback"/>):
/// AES-CBC for the state, HMAC-SHA256 over the ticket, as OpenSSL does with its own keys and HAProxy with its key file.
/// </summary>
internal static unsafe partial class TicketCrypto
{
    private const string Library = "libcrypto.so.3";

    /// <summary>An OSSL_PARAM (core.h): key, data type, data, data size, return size.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct OsslParam
    {
        public byte* Key;
        public uint DataType;
        public void* Data;
        public nuint DataSize;
        public nuint ReturnSize;
    }

    [LibraryImport(Library, EntryPoint = "RAND_bytes")]
    public static partial int RandomBytes(byte* buffer, int count);

    [LibraryImport(Library, EntryPoint = "EVP_aes_128_cbc")]
    public static partial IntPtr Aes128Cbc();

    [LibraryImport(Library, EntryPoint = "EVP_aes_256_cbc")]
    public static partial IntPtr Aes256Cbc();

    [LibraryImport(Library, EntryPoint = "EVP_EncryptInit_ex")]
    public static partial int EncryptInit(IntPtr context, IntPtr cipher, IntPtr engine, byte* key, byte* iv);

    [LibraryImport(Library, EntryPoint = "EVP_DecryptInit_ex")]
    public static partial int DecryptInit(IntPtr context, IntPtr cipher, IntPtr engine, byte* key, byte* iv);

    [LibraryImport(Library, EntryPoint = "EVP_MAC_CTX_set_params")]
    public static partial int MacSetParameters(IntPtr context, OsslParam* parameters);

    [LibraryImport(Library, EntryPoint = "OSSL_PARAM_construct_octet_string")]
    public static partial OsslParam OctetString(byte* key, void* buffer, nuint size);

    [LibraryImport(Library, EntryPoint = "OSSL_PARAM_construct_utf8_string")]
    public static partial OsslParam Utf8String(byte* key, byte* buffer, nuint size);

    [LibraryImport(Library, EntryPoint = "OSSL_PARAM_construct_end")]
    public static partial OsslParam End();
}
