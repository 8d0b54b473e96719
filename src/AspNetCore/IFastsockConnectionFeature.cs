namespace Fastsock.AspNetCore;

/// <summary>
/// Which Fastsock worker serves a connection. Reachable from <c>HttpContext.Features</c> and
/// <c>ConnectionContext.Features</c> when the app runs on <see cref="FastsockWebHostBuilderExtensions.UseFastsock"/>.
/// </summary>
public interface IFastsockConnectionFeature
{
    /// <summary>Index of the worker that accepted the connection and runs its continuations.</summary>
    int WorkerIndex { get; }

    /// <summary>The CPU that worker is pinned to.</summary>
    int Cpu { get; }

    /// <summary>
    /// The CPU that processed the connection's incoming packets (SO_INCOMING_CPU), known after its first bytes
    /// were read; -1 before that or for AF_UNIX. Equal to <see cref="Cpu"/> when the connection is local.
    /// </summary>
    int IncomingCpu { get; }
}
