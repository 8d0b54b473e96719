namespace Fastsock.Samples.Proxy.Balancing;

/// <summary>What an operator set through the runtime API (HAProxy's <c>set server … state</c>).</summary>
internal enum ServerAdminState
{
    /// <summary>In rotation (when UP and its weight is above 0).</summary>
    Ready,

    /// <summary>No new sessions or requests; those in progress finish, idle connections stay until they time out.</summary>
    Drain,

    /// <summary>Out of rotation; sessions in progress finish, idle pooled connections are closed.</summary>
    Maint,
}
