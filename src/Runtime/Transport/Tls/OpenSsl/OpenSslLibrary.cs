using System.Runtime.InteropServices;

namespace Fastsock.Transport.Tls.OpenSsl;

/// <summary>
/// Whether this process can run the OpenSSL engine: libssl.so.3 and libcrypto.so.3 load and report OpenSSL 3.0 or
/// later. Probed once per process; when the answer is no, every layer that asked for OpenSSL runs on SslStream instead.
/// </summary>
internal static class OpenSslLibrary
{
    private const ulong Minimum = 0x3_00_00_00_0UL;

    private static readonly Lazy<(bool Available, string Description)> Probed = new(Probe);

    public static bool Available => Probed.Value.Available;

    /// <summary>One line for a log: the version in use, or why the engine is not used and what runs instead.</summary>
    public static string Description => Probed.Value.Description;

    private static (bool, string) Probe()
    {
        if (!NativeLibrary.TryLoad(LibCrypto.Library, out _) || !NativeLibrary.TryLoad(LibSsl.Library, out _))
        {
            return (false, $"TLS engine: {LibSsl.Library} or {LibCrypto.Library} could not be loaded, so TLS layers run on SslStream; install OpenSSL 3 (libssl3) to use the OpenSSL engine");
        }

        try
        {
            ulong version = LibCrypto.VersionNumber();
            string text = $"{version >> 28}.{(version >> 20) & 0xFF}.{(version >> 4) & 0xFFFF}";
            return version < Minimum
                ? (false, $"TLS engine: OpenSSL {text} is older than 3.0, so TLS layers run on SslStream; install OpenSSL 3 (libssl3) to use the OpenSSL engine")
                : (true, $"TLS engine: OpenSSL {text} ({LibSsl.Library}) with memory BIOs on each connection's worker");
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return (false, $"TLS engine: {LibCrypto.Library} has no OpenSSL_version_num ({ex.Message}), so TLS layers run on SslStream; install OpenSSL 3 (libssl3)");
        }
    }
}
