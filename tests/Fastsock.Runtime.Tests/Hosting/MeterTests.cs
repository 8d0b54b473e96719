using System.Diagnostics.Metrics;
using System.Net.Sockets;
using Fastsock.Locality;
using Fastsock.Tests.Support;

namespace Fastsock.Tests.Hosting;

/// <summary>The "Fastsock" meter, read the way dotnet-counters and OpenTelemetry read it: through a <see cref="MeterListener"/>.</summary>
public sealed class MeterTests
{
    [Fact]
    public async Task Meter_reports_connections_and_bytes_of_the_server_tagged_by_worker_and_cpu()
    {
        int cpu = CpuSet.Allowed()[0];
        var payload = new byte[1234];
        await using var server = await TestServers.StartAsync(TestServers.Echo, o => o.Cores = CpuSet.Of(cpu));
        for (int i = 0; i < 3; i++)
        {
            using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(server.EndPoints[0]);
            Assert.Equal(payload.Length, (await Clients.RoundTripAsync(client, payload)).Length);
            client.Shutdown(SocketShutdown.Send);
            Assert.Empty(await Clients.ReadToEndAsync(client));
        }

        Assert.True(await Eventually.HoldsAsync(() => server.GetStats()[0].Closed == 3), "the server did not count three closed connections");

        // Other tests run servers in this process too: each server has its own Meter, so group by meter and find ours
        // as the one whose figures are exactly this test's.
        var byMeter = Collect();
        var ours = byMeter.Values.Where(m =>
            m.GetValueOrDefault("fastsock.connections.accepted") == 3
            && m.GetValueOrDefault("fastsock.bytes.received") == 3 * payload.Length
            && m.GetValueOrDefault("fastsock.bytes.sent") == 3 * payload.Length).ToList();
        var meter = Assert.Single(ours);
        Assert.Equal(3, meter["fastsock.connections.closed"]);
        Assert.Equal(0, meter["fastsock.connections.active"]);
        Assert.Equal(0, meter["fastsock.handler.errors"]);
        Assert.Equal(3, meter["fastsock.locality.local"] + meter["fastsock.locality.remote"]);
        Assert.InRange(meter["fastsock.socket.sends"], 3, 3 * payload.Length); // at least one send per echo
        Assert.Contains("fastsock.pool.rented", meter.Keys);
        Assert.Contains("fastsock.connections.connected", meter.Keys);
        Assert.Equal(1, meter[$"fastsock.connections.accepted worker=0 cpu={cpu}"]); // one measurement, with both tags
    }

    /// <summary>One collection of every observable instrument of every "Fastsock" meter: values by instrument name, per meter.</summary>
    private static Dictionary<Meter, Dictionary<string, long>> Collect()
    {
        var byMeter = new Dictionary<Meter, Dictionary<string, long>>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Fastsock")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (!byMeter.TryGetValue(instrument.Meter, out var values))
            {
                byMeter[instrument.Meter] = values = new Dictionary<string, long>(StringComparer.Ordinal);
            }

            values[instrument.Name] = values.GetValueOrDefault(instrument.Name) + value;
            var tagged = $"{instrument.Name} {Tags(tags)}";
            values[tagged] = values.GetValueOrDefault(tagged) + 1;
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return byMeter;
    }

    private static string Tags(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        object? worker = null;
        object? cpu = null;
        foreach (var tag in tags)
        {
            if (tag.Key == "fastsock.worker")
            {
                worker = tag.Value;
            }
            else if (tag.Key == "fastsock.cpu")
            {
                cpu = tag.Value;
            }
        }

        return $"worker={worker} cpu={cpu}";
    }
}
