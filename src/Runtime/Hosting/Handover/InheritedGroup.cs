namespace Fastsock.Hosting.Handover;

/// <summary>
/// Listening sockets this process received for one of its endpoints, in reuseport group order, with the worker each
/// one serves. Fewer sockets than workers (systemd passing one reuseport socket) means the missing workers' sockets
/// are opened and join the group after them. <see cref="WorkerBySlot"/> is empty for the single shared listener.
/// </summary>
internal sealed record InheritedGroup(int[] FdsBySlot, int[] WorkerBySlot, string Origin);
