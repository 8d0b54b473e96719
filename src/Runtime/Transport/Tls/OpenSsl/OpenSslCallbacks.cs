using System.Runtime.InteropServices;

namespace Fastsock.Transport.Tls.OpenSsl;

/// <summary>
/// The functions OpenSSL calls back during a handshake. An exception must not escape them (it would end the process):
/// each catches everything, fails the handshake with a fatal alert and is counted.
/// </summary>
internal static unsafe class OpenSslCallbacks
{
    private const int MaxServerName = 255;

    /// <summary>
    /// The servername callback: picks the certificate's context by the ClientHello's SNI name (exact, one-label
    /// wildcard, default), as the SslStream engine does, and switches the SSL to it. No allocation: the name is read
    /// into a stack buffer and looked up by span.
    /// </summary>
    [UnmanagedCallersOnly]
    public static int SelectCertificate(IntPtr ssl, int* alert, IntPtr argument)
    {
        OpenSslServerContexts? contexts = null;
        try
        {
            contexts = OpenSslServerContexts.From(argument);
            byte* name = LibSsl.GetServerName(ssl, LibSsl.TlsextNameTypeHostName);
            Span<char> chars = stackalloc char[MaxServerName];
            int length = 0;
            if (name is not null)
            {
                while (name[length] != 0 && length < MaxServerName)
                {
                    chars[length] = (char)name[length];
                    length++;
                }
            }

            var chosen = contexts.Table.Select(chars[..length]).DangerousGetHandle();
            if (LibSsl.GetContext(ssl) != chosen)
            {
                LibSsl.SetContext(ssl, chosen);
            }

            return LibSsl.TlsextErrorOk;
        }
        catch (Exception)
        {
            contexts?.CountCallbackFailure();
            return LibSsl.TlsextErrorAlertFatal;
        }
    }

    /// <summary>
    /// The ALPN callback: the first of the layer's protocols (in its order of preference) that the client offers. A
    /// client that offers only others gets the fatal no_application_protocol alert RFC 7301 §3.2 asks for (as the
    /// SslStream engine does). <paramref name="argument"/> is the layer's list in wire format after its 4-byte length.
    /// </summary>
    [UnmanagedCallersOnly]
    public static int SelectApplicationProtocol(IntPtr ssl, byte** output, byte* outputLength, byte* offered, uint offeredLength, IntPtr argument)
    {
        try
        {
            uint length = *(uint*)argument;
            byte* ours = (byte*)argument + sizeof(uint);
            return LibSsl.SelectNextProtocol(output, outputLength, ours, length, offered, offeredLength) == LibSsl.NextProtocolNegotiated
                ? LibSsl.TlsextErrorOk
                : LibSsl.TlsextErrorAlertFatal;
        }
        catch (Exception)
        {
            return LibSsl.TlsextErrorAlertFatal;
        }
    }
}
