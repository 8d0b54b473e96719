using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Fastsock.Engine;

/// <summary>
/// Asks the CPU to start loading an object's first cache lines before the code that needs them runs. With a thousand
/// connections per core, the objects one event touches (the connection, its pipes, the handler's state) are no longer
/// in the core's caches when their turn comes, and each miss stalls the worker; loading them for the next few events
/// while the current one runs overlaps those misses. A hint only: a stale or moved address costs a wasted load, never
/// a fault, so the address may be read from a reference without pinning.
/// </summary>
internal static unsafe class CachePrefetch
{
    /// <summary>The first two cache lines of <paramref name="target"/>: its header, type and first fields.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Object(object? target)
    {
        if (Sse.IsSupported && target is not null)
        {
            byte* address = (byte*)Unsafe.As<object, nint>(ref target);
            Sse.Prefetch0(address);
            Sse.Prefetch0(address + 64);
        }
    }
}
