namespace Fastsock.Transport.Tls.OpenSsl;

/// <summary>What one SSL_do_handshake step ended with.</summary>
internal enum HandshakeStep
{
    WantRead,
    Done,
    Failed,
}
