using System.IO.Pipelines;
using System.Net;
using Fastsock.Http.ProxyProtocol;
using Fastsock.Samples.Proxy.Config;
using Fastsock.Transport;
using Microsoft.Extensions.Logging;

namespace Fastsock.Samples.Proxy.Routing;

/// <summary>
/// Who a client is, as the proxy tells it on: the source a PROXY header announced, or else the socket's peer.
/// <see cref="Destination"/> is the frontend's local address. Both are read from the socket only when asked.
/// </summary>
internal readonly record struct ClientEndPoints(EndPoint? Announced, Connection? Client)
{
    public EndPoint? Source => Announced ?? Client?.RemoteEndPoint;

    public EndPoint? Destination => Client?.LocalEndPoint;
}

/// <summary>
/// The PROXY protocol at both ends of a proxied connection: <see cref="ReceiveAsync"/> reads and strips the header a
/// frontend with <c>acceptProxy</c> expects before anything else, <see cref="Write"/> writes one first on a new
/// server connection when the server asks for <c>sendProxy: v1|v2</c>. Bytes the client sent after its header stay in
/// the input pipe for whoever reads next (the forwarder).
/// </summary>
internal sealed partial class ProxyHeaderExchange(ILogger logger, TimeSpan timeout)
{
    /// <summary>How long a client may take to send a complete header.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    public TimeSpan Timeout { get; } = timeout;

    /// <summary>
    /// The client's endpoints: read from its PROXY header when the frontend accepts one, else the socket's. Null when
    /// the header is malformed, incomplete within <see cref="Timeout"/>, or the client left first (logged once): close
    /// the connection.
    /// </summary>
    public ValueTask<ClientEndPoints?> ReceiveAsync(Connection client, FrontendSettings frontend)
    {
        var real = new ClientEndPoints(null, client);
        if (frontend.AcceptProxy && frontend.Tls is not null && Tls.ProxyHeaderBeforeTls.Take(out var before))
        {
            // Read in the clear before the TLS layer started; the session's connection is the TLS one.
            return ValueTask.FromResult(before is { } peer ? peer with { Client = client } : (ClientEndPoints?)null);
        }

        return frontend.AcceptProxy ? ReadHeaderAsync(client.Transport.Input, frontend.Name, real) : ValueTask.FromResult<ClientEndPoints?>(real);
    }

    /// <summary>Reads a header on <paramref name="client"/> whatever its frontend says (the TLS frontend's raw connection).</summary>
    public ValueTask<ClientEndPoints?> ReadAsync(Connection client, string frontend) =>
        ReadHeaderAsync(client.Transport.Input, frontend, new ClientEndPoints(null, client));

    /// <summary>The header bytes: TCP4/TCP6 with both endpoints, or UNKNOWN / LOCAL when one is not an IP endpoint.</summary>
    public static void Write(System.Buffers.IBufferWriter<byte> output, ProxyHeaderMode mode, ClientEndPoints client)
    {
        bool ip = client.Source is IPEndPoint && client.Destination is IPEndPoint;
        switch (mode)
        {
            case ProxyHeaderMode.V1 when ip:
                ProxyHeaderWriter.WriteV1(output, (IPEndPoint)client.Source!, (IPEndPoint)client.Destination!);
                break;
            case ProxyHeaderMode.V1:
                ProxyHeaderWriter.WriteV1Unknown(output);
                break;
            case ProxyHeaderMode.V2 when ip:
                ProxyHeaderWriter.WriteV2(output, (IPEndPoint)client.Source!, (IPEndPoint)client.Destination!);
                break;
            case ProxyHeaderMode.V2:
                ProxyHeaderWriter.WriteV2Local(output);
                break;
        }
    }

    private async ValueTask<ClientEndPoints?> ReadHeaderAsync(PipeReader input, string frontend, ClientEndPoints real)
    {
        using var deadline = new CancellationTokenSource(Duration.ForTimer(Timeout));
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(deadline.Token).ConfigureAwait(true);
            }
            catch (OperationCanceledException)
            {
                Rejected(logger, frontend, real.Source, $"no complete PROXY header within {Timeout.TotalMilliseconds:0} ms");
                return null;
            }

            var buffer = result.Buffer;
            var status = ProxyHeaderParser.TryParse(buffer, out var header, out var consumed);
            if (status == ProxyParseStatus.Complete)
            {
                // Only the header is consumed: what follows it is the client's first payload.
                input.AdvanceTo(consumed);
                return header.HasAddresses ? real with { Announced = header.Source } : real;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (status == ProxyParseStatus.Error)
            {
                Rejected(logger, frontend, real.Source, header.Error?.Reason ?? "invalid PROXY header");
                return null;
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                Rejected(logger, frontend, real.Source, $"the connection ended after {buffer.Length} bytes, before a complete PROXY header");
                return null;
            }
        }
    }

    [LoggerMessage(EventId = 320, Level = LogLevel.Warning, Message = "Frontend {Frontend}: closing the connection from {Client}: {Reason}")]
    private static partial void Rejected(ILogger logger, string frontend, EndPoint? client, string reason);
}
