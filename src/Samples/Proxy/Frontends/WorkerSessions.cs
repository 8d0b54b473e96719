using System.Runtime.InteropServices;

namespace Fastsock.Samples.Proxy.Frontends;

/// <summary>
/// What a frontend tracks per worker: its open client sessions (for maxconn) and, in http mode, whether the idle
/// sweep of its backend pools runs. Kept in an array with one element per worker, each 128 bytes with the fields in the
/// middle, so two workers' fields are never on one cache line (nor on the line of the array's header).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct WorkerSessions
{
    [FieldOffset(64)]
    public int Open;

    [FieldOffset(68)]
    public bool Sweeping;
}
