using Fastsock.Samples.Proxy.Config;

namespace Fastsock.Samples.Proxy.Reload;

/// <summary>Where a reload reads the config again: the <c>--config</c> file (null: the demo) and the command line's overrides.</summary>
internal sealed record ReloadSource(string? Path, Action<ProxyConfig> Overrides);
