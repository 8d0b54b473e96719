using System.Net;
using Fastsock.Samples.Proxy.Config;

namespace Fastsock.Samples.Proxy.Reload;

/// <summary>A frontend as it runs: its settings, the slot its listeners call, its frontend object, and where each bind got bound.</summary>
internal sealed class LiveFrontend(FrontendSettings settings, FrontendSlot slot, object frontend)
{
    public FrontendSettings Settings { get; set; } = settings;

    public FrontendSlot Slot { get; } = slot;

    /// <summary>The <c>HttpFrontend</c> or <c>TcpFrontend</c> new connections go to.</summary>
    public object Frontend { get; set; } = frontend;

    /// <summary>Configured bind → endpoint as bound (port 0 resolved).</summary>
    public Dictionary<IPEndPoint, IPEndPoint> Bound { get; } = [];
}
