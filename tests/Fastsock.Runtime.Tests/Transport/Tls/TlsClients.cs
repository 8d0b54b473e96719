using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Transport.Tls;

/// <summary>A .NET SslStream client that trusts any certificate and remembers the one the server showed.</summary>
internal sealed class TlsTestClient : IAsyncDisposable
{
    private readonly Socket _socket;

    private TlsTestClient(Socket socket, SslStream ssl)
    {
        _socket = socket;
        Ssl = ssl;
    }

    public SslStream Ssl { get; }

    public X509Certificate2? ServerCertificate { get; private set; }

    public static async Task<TlsTestClient> ConnectAsync(EndPoint endPoint, string? serverName, SslProtocols protocols = SslProtocols.None, bool offerHttp11 = true)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endPoint).WaitAsync(Clients.Timeout);
        TlsTestClient? client = null;
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false, (_, certificate, _, _) =>
        {
            // Self-signed test certificates: the test asserts which one was shown instead of a chain.
            client!.ServerCertificate = certificate is null ? null : new X509Certificate2(certificate);
            return certificate is not null;
        });
        client = new TlsTestClient(socket, ssl);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = serverName ?? "",
            EnabledSslProtocols = protocols,
            ApplicationProtocols = offerHttp11 ? [SslApplicationProtocol.Http11] : null,
        }).WaitAsync(Clients.Timeout);
        return client;
    }

    public async Task<byte[]> RoundTripAsync(byte[] message)
    {
        await Ssl.WriteAsync(message).AsTask().WaitAsync(Clients.Timeout);
        var received = new byte[message.Length];
        await Ssl.ReadExactlyAsync(received).AsTask().WaitAsync(Clients.Timeout);
        return received;
    }

    public async ValueTask DisposeAsync()
    {
        await Ssl.DisposeAsync();
        _socket.Dispose();
    }
}
