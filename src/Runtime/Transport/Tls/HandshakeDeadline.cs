using Fastsock.Engine;

namespace Fastsock.Transport.Tls;

/// <summary>Closes a connection whose handshake outlives the timeout, from the worker's timer wheel (both server engines).</summary>
internal sealed class HandshakeDeadline(Connection connection) : TimerEntry
{
    public bool Expired { get; private set; }

    public void Arm(Worker worker, TimeSpan timeout)
    {
        // The clock now, not the one read at the start of the worker's turn: armed late in a long turn, the deadline
        // would otherwise fire up to that turn's length early.
        worker.Timers.Schedule(this, Environment.TickCount64, timeout);
    }

    public void Disarm() => Wheel?.Cancel(this);

    public override void OnExpired()
    {
        Expired = true;
        connection.Abort();
    }
}
