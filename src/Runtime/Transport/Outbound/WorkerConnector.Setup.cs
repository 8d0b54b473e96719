using Fastsock.Engine;
using Fastsock.Locality;
using Microsoft.Extensions.Logging;

namespace Fastsock.Transport;

internal sealed partial class WorkerConnector
{
    /// <summary>
    /// One connector per worker, each with a disjoint slice of the port range. Rss reads the topology once; where it
    /// cannot, or a worker's CPU serves no queue, that is logged once and the kernel chooses.
    /// </summary>
    public static WorkerConnector[] CreateAll(IReadOnlyList<Worker> workers, IReadOnlyList<SocketConnectionPool> pools, OutboundOptions options, ILogger logger)
    {
        var range = options.PortRange is { } given ? PortRange.Create(given.First, given.Last, "Outbound.PortRange") : PortRange.ReadEphemeral();
        var strategy = options.Strategy;
        RssTopology? rss = null;
        string detail = "the kernel picks";
        if (strategy == SourcePortStrategy.Rss)
        {
            rss = RssTopology.TryLoad(options, out var reason);
            if (rss is null)
            {
                ConnectorLog.RssUnavailable(logger, reason ?? "unknown");
                strategy = SourcePortStrategy.Kernel;
            }
            else
            {
                detail = rss.ToString();
            }
        }
        else if (strategy == SourcePortStrategy.Modulo)
        {
            detail = $"port mod {SourcePortSelector.ModuloStride(workers.Count)} = worker index";
        }

        ConnectorLog.Strategy(logger, strategy, range, detail);
        var connectors = new WorkerConnector[workers.Count];
        for (int i = 0; i < workers.Count; i++)
        {
            var worker = workers[i];
            SourcePortSelector? selector = null;
            if (strategy == SourcePortStrategy.Rss && !rss!.Serves(worker.Cpu))
            {
                ConnectorLog.RssCpuNotServed(logger, worker.Index, worker.Cpu, rss.ToString());
            }
            else if (strategy != SourcePortStrategy.Kernel)
            {
                selector = new SourcePortSelector(strategy, range, worker.Index, workers.Count, worker.Cpu, rss);
            }

            connectors[i] = new WorkerConnector(worker, pools[i], options, selector);
        }

        return connectors;
    }
}
