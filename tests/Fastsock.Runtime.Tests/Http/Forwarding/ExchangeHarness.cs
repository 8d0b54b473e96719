using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Fastsock.Hosting;
using Fastsock.Http;
using Fastsock.Http.Proxying;
using Fastsock.Locality;
using Fastsock.Tests.Support;
using Fastsock.Transport;

namespace Fastsock.Tests.Http.Forwarding;

/// <summary>
/// A minimal proxy around <see cref="HttpExchangeForwarder"/> on a real worker: loopback client in, a loopback backend
/// the test accepts and scripts out. Each exchange's outcome (or the parse error that rejected a head) is reported to the
/// test; a retryable outcome is followed by one more attempt on a new backend connection, as a proxy would.
/// </summary>
internal sealed class ExchangeHarness : IAsyncDisposable
{
    private readonly Socket _backends = new(SocketType.Stream, ProtocolType.Tcp);
    private readonly Channel<Report> _reports = Channel.CreateUnbounded<Report>();
    private readonly HttpForwarderOptions _options;
    private readonly bool _replayable;
    private readonly bool _keepBackend;
    private readonly HttpForwarderOptions? _retryOptions;
    private readonly List<Peer> _peers = [];
    private FastsockServer? _server;
    private Connection? _idleBackend;

    private ExchangeHarness(HttpForwarderOptions options, bool replayable, bool keepBackend, HttpForwarderOptions? retryOptions)
    {
        _options = options;
        _retryOptions = retryOptions;
        _replayable = replayable;
        _keepBackend = keepBackend;
        _backends.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _backends.Listen(16);
    }

    /// <param name="options">Copy only, unless given; no splicing below 1 GiB.</param>
    /// <param name="replayable">Whether the forwarder is told the backend connection is a reused one.</param>
    /// <param name="keepBackend">
    /// A pool of one: a backend connection the last outcome called reusable outlives its client connection and carries
    /// the next client's requests, as a proxy's pool would; false: it is closed with its client.
    /// </param>
    /// <param name="retryOptions">
    /// The options of the retry an outcome offers, when they must differ from the first attempt's (a short response
    /// timeout that should not also race the test's answer to the retry); null: the same.
    /// </param>
    public static async Task<ExchangeHarness> StartAsync(HttpForwarderOptions? options = null, bool replayable = false, bool keepBackend = false, HttpForwarderOptions? retryOptions = null)
    {
        var harness = new ExchangeHarness(
            options ?? new HttpForwarderOptions { Forwarding = ForwardingMode.Copy, SpliceThreshold = 1L << 30 }, replayable, keepBackend, retryOptions);
        harness._server = await TestServers.StartAsync(harness.HandleAsync, o => o.Cores = CoreSets.First);
        return harness;
    }

    /// <summary>Bytes the proxy's workers moved with splice(2) so far (what went through a kernel pipe to its target).</summary>
    public long BytesSpliced
    {
        get
        {
            long total = 0;
            foreach (var worker in _server!.GetStats())
            {
                total += worker.BytesSpliced;
            }

            return total;
        }
    }

    /// <summary>A new client connection to the proxy.</summary>
    public async Task<Peer> ConnectClientAsync()
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(_server!.EndPoints[0]).WaitAsync(Clients.Timeout);
        return Track(new Peer(socket));
    }

    /// <summary>The next backend connection the proxy opens.</summary>
    public async Task<Peer> AcceptBackendAsync()
    {
        var socket = await _backends.AcceptAsync().WaitAsync(Clients.Timeout);
        socket.NoDelay = true;
        return Track(new Peer(socket));
    }

    /// <summary>How the next exchange ended.</summary>
    public async Task<HttpForwarderOutcome> NextOutcomeAsync()
    {
        var report = await _reports.Reader.ReadAsync().AsTask().WaitAsync(Clients.Timeout);
        Assert.True(report.Rejected is null, $"The request head was rejected: {report.Rejected}");
        return report.Outcome;
    }

    /// <summary>The parse error that rejected the next request head.</summary>
    public async Task<HttpParseError> NextRejectionAsync()
    {
        var report = await _reports.Reader.ReadAsync().AsTask().WaitAsync(Clients.Timeout);
        return report.Rejected ?? throw new Xunit.Sdk.XunitException($"The request was forwarded: {report.Outcome}");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var peer in _peers)
        {
            peer.Dispose();
        }

        _backends.Dispose();
        Interlocked.Exchange(ref _idleBackend, null)?.Abort(); // posted to its worker, which the server's disposal stops after
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    private Peer Track(Peer peer)
    {
        lock (_peers)
        {
            _peers.Add(peer);
        }

        return peer;
    }

    private async Task HandleAsync(Connection client)
    {
        var forwarder = new HttpExchangeForwarder(client, [192, 0, 2, 1], _options);
        var input = client.Transport.Input;
        var output = client.Transport.Output;
        Connection? backend = Interlocked.Exchange(ref _idleBackend, null);
        bool backendClean = false;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync();
                var status = forwarder.TryParseRequest(result.Buffer, out var error);
                if (status == HttpParseStatus.NeedMoreData)
                {
                    input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                    if (result.IsCompleted)
                    {
                        return;
                    }

                    continue;
                }

                if (status == HttpParseStatus.Error)
                {
                    input.AdvanceTo(result.Buffer.End);
                    _reports.Writer.TryWrite(new Report(default, error));
                    HttpResponseWriter.WriteError(output, error!.StatusCode);
                    await output.FlushAsync();
                    return;
                }

                backend ??= await FastsockConnector.ConnectAsync(_backends.LocalEndPoint!);
                backendClean = false;
                var outcome = await forwarder.ForwardAsync(backend, "backend.test"u8.ToArray(), _replayable);
                if (outcome.CanRetry)
                {
                    _reports.Writer.TryWrite(new Report(outcome, null));
                    Close(backend);
                    backend = await FastsockConnector.ConnectAsync(_backends.LocalEndPoint!);
                    if (_retryOptions is not null)
                    {
                        forwarder.Options = _retryOptions;
                    }

                    outcome = await forwarder.ForwardAsync(backend, "backend.test"u8.ToArray(), replayable: false);
                }

                if (!outcome.BackendReusable)
                {
                    Close(backend);
                    backend = null;
                }

                backendClean = backend is not null;
                _reports.Writer.TryWrite(new Report(outcome, null));

                if (outcome.AnswerStatus != 0)
                {
                    HttpResponseWriter.WriteError(output, outcome.AnswerStatus);
                    await output.FlushAsync();
                    return;
                }

                if (!outcome.ClientKeepAlive)
                {
                    return;
                }
            }
        }
        finally
        {
            if (backend is not null && !(_keepBackend && backendClean && Interlocked.CompareExchange(ref _idleBackend, backend, null) is null))
            {
                Close(backend);
            }

            await input.CompleteAsync();
            await output.CompleteAsync();
        }
    }

    private static void Close(Connection connection)
    {
        connection.Transport.Input.Complete();
        connection.Transport.Output.Complete();
    }

    private readonly record struct Report(HttpForwarderOutcome Outcome, HttpParseError? Rejected);
}
