using Fastsock.Hosting;
using Fastsock.Http;
using Fastsock.Http.Proxying;
using Fastsock.Locality;
using Fastsock.Samples.Hello;
using Fastsock.Tests.Support;
using Fastsock.Transport;
using Xunit.Abstractions;

namespace Fastsock.Tests.Http.Forwarding;

/// <summary>
/// Keep-alive exchanges through a bare <see cref="HttpExchangeForwarder"/> to the in-process Hello app (an in-memory
/// backend on the same worker) allocate nothing in the whole process, measured by <see cref="KeepAliveAllocationProbe"/>.
/// </summary>
public sealed class HttpExchangeForwarderAllocationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Keep_alive_exchanges_through_the_forwarder_allocate_nothing_in_the_process()
    {
        FastsockServer? server = null;
        var hello = new HelloApp(() => server!.GetStats());
        var options = new HttpForwarderOptions();
        server = await TestServers.StartAsync(client => ProxyAsync(client, hello, options), o => o.Cores = CoreSets.First);
        await using (server)
        {
            await KeepAliveAllocationProbe.AssertAllocatesNothingAsync(server.EndPoints[0], batch: 1, output);
            Assert.Equal(0, server.GetStats().Sum(w => w.HandlerErrors));
        }
    }

    /// <summary>One client, one in-memory backend for its whole life: the forwarder's part of a proxy and nothing else.</summary>
    private static async Task ProxyAsync(Connection client, HelloApp hello, HttpForwarderOptions options)
    {
        var forwarder = new HttpExchangeForwarder(client, [127, 0, 0, 1], options);
        var (backend, app) = InMemoryConnection.CreatePair();
        var serving = hello.HandleAsync(app);
        var input = client.Transport.Input;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync();
                var status = forwarder.TryParseRequest(result.Buffer, out _);
                if (status != HttpParseStatus.Complete)
                {
                    input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                    if (status == HttpParseStatus.Error || result.IsCompleted)
                    {
                        return;
                    }

                    continue;
                }

                // Not back through the worker's SynchronizationContext: posting would allocate a callback per resumption.
                var outcome = await forwarder.ForwardAsync(backend, default, replayable: false).ConfigureAwait(false);
                if (!outcome.ClientKeepAlive || !outcome.BackendReusable)
                {
                    Assert.Fail($"A keep-alive exchange ended with {outcome}.");
                }
            }
        }
        finally
        {
            backend.Transport.Input.Complete();
            backend.Transport.Output.Complete();
            await serving;
            await input.CompleteAsync();
            await client.Transport.Output.CompleteAsync();
        }
    }
}
