using System.Net;
using System.Text;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using Fastsock.Transport.Tls;

namespace Fastsock.Tests.Transport.Tls;

/// <summary>
/// A plain test server whose handler connects to a backend and runs the client TLS layer over it
/// (<see cref="TlsLayer.ClientAsync"/>), on the handler's worker. A refused handshake is answered to the test client as
/// one line, the exception's reason and message; after a handshake, <c>relay</c> does what the test needs with the
/// test's connection and the TLS one.
/// </summary>
internal static class TlsClientRelay
{
    public static Task<FastsockServer> StartAsync(EndPoint backend, TlsClientOptions options, string cores, Func<Connection, Connection, Task> relay) =>
        TestServers.StartAsync(async connection =>
        {
            var raw = await FastsockConnector.ConnectAsync(backend);
            Connection tls;
            try
            {
                tls = await TlsLayer.ClientAsync(raw, options);
            }
            catch (TlsHandshakeException ex)
            {
                await connection.Transport.Output.WriteAsync(Encoding.UTF8.GetBytes($"{ex.Reason}: {ex.Message}\n"));
                return;
            }

            await relay(connection, tls);
        }, o => o.Cores = CpuSet.Parse(cores));
}
