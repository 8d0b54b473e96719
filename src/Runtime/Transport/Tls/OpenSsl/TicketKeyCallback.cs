using System.Runtime.InteropServices;

namespace Fastsock.Transport.Tls.OpenSsl;

/// <summary>
/// OpenSSL's ticket key callback for keys from a file (<see cref="TlsTicketKeys.FromFile"/>): new tickets are sealed
/// with the file's sealing key, and a ticket opens under any of its keys, found by the 16-byte name at its start; a
/// ticket opened under another key than the sealing one is renewed. The cipher and HMAC are those of HAProxy's key
/// files (AES-128 or AES-256 CBC by key length, HMAC-SHA256). No exception escapes (it would end the process).
/// </summary>
internal static unsafe class TicketKeyCallback
{
    private const int KeyNameLength = 16;
    private const int IvLength = 16;

    /// <summary>SSL_CTX_set_app_data's slot: the contexts' native handle, to find the layer's keys from an SSL.</summary>
    public const int ContextsSlot = 0;

    /// <returns>Sealing: 1, or -1 on an error. Opening: 0 (no such key: full handshake), 1, 2 (opened, renew it), -1.</returns>
    [UnmanagedCallersOnly]
    public static int SealOrOpen(IntPtr ssl, byte* keyName, byte* iv, IntPtr cipher, IntPtr mac, int seal)
    {
        try
        {
            var keys = OpenSslServerContexts.From(LibSsl.ContextGetExData(LibSsl.GetContext(ssl), ContextsSlot)).TicketKeySource;
            if (keys is null)
            {
                return -1;
            }

            if (seal == 1)
            {
                var key = keys.SealingKey;
                key[..KeyNameLength].CopyTo(new Span<byte>(keyName, KeyNameLength));
                return TicketCrypto.RandomBytes(iv, IvLength) == 1 && Initialize(key, iv, cipher, mac, encrypt: true) ? 1 : -1;
            }

            var found = keys.Find(new ReadOnlySpan<byte>(keyName, KeyNameLength), out bool sealing);
            if (found.IsEmpty)
            {
                return 0;
            }

            return Initialize(found, iv, cipher, mac, encrypt: false) ? (sealing ? 1 : 2) : -1;
        }
        catch (Exception)
        {
            return -1;
        }
    }

    /// <summary>HAProxy's layout: 16 B name, then the AES key, then the HMAC key (16 B each for 48 B keys, 32 B for 80 B).</summary>
    private static bool Initialize(ReadOnlySpan<byte> key, byte* iv, IntPtr cipher, IntPtr mac, bool encrypt)
    {
        int half = (key.Length - KeyNameLength) / 2;
        fixed (byte* start = key)
        fixed (byte* keyParameter = "key\0"u8)
        fixed (byte* digestParameter = "digest\0"u8)
        fixed (byte* sha256 = "SHA256\0"u8)
        {
            byte* aes = start + KeyNameLength;
            byte* hmac = aes + half;
            var parameters = stackalloc TicketCrypto.OsslParam[3];
            parameters[0] = TicketCrypto.OctetString(keyParameter, hmac, (nuint)half);
            parameters[1] = TicketCrypto.Utf8String(digestParameter, sha256, 0);
            parameters[2] = TicketCrypto.End();
            if (TicketCrypto.MacSetParameters(mac, parameters) != 1)
            {
                return false;
            }

            var algorithm = half == 16 ? TicketCrypto.Aes128Cbc() : TicketCrypto.Aes256Cbc();
            return (encrypt ? TicketCrypto.EncryptInit(cipher, algorithm, IntPtr.Zero, aes, iv) : TicketCrypto.DecryptInit(cipher, algorithm, IntPtr.Zero, aes, iv)) == 1;
        }
    }
}
