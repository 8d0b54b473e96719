using Fastsock.Samples.Proxy.Config;

namespace Fastsock.Samples.Proxy.Balancing;

/// <summary>
/// One server as every worker sees it. Only the health checker writes <see cref="IsUp"/>; workers read it with no
/// lock (a flag that changes a few times a day costs nothing to share).
/// </summary>
internal sealed class ServerState(ServerSettings settings, int index)
{
    private volatile bool _up = true;

    public ServerSettings Settings { get; } = settings;

    public int Index { get; } = index;

    public int Weight => Settings.Weight;

    public bool IsUp
    {
        get => _up;
        set => _up = value;
    }

    public override string ToString() => $"{Settings.Name} ({Settings.Address})";
}
