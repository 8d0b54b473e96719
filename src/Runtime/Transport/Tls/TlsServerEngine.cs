namespace Fastsock.Transport.Tls;

/// <summary>What terminates TLS under a server layer (<see cref="TlsServerOptions.Engine"/>).</summary>
public enum TlsServerEngine
{
    /// <summary>
    /// libssl (OpenSSL 3) driven directly over memory BIOs on the connection's worker: less CPU per handshake and per
    /// record than SslStream. Falls back to <see cref="SslStream"/> when libssl.so.3 cannot be loaded
    /// (<see cref="TlsLayer.OpenSslAvailable"/>).
    /// </summary>
    OpenSsl,

    /// <summary>.NET's <see cref="System.Net.Security.SslStream"/> over the connection's pipes.</summary>
    SslStream,
}
