using Fastsock.Engine;

namespace Fastsock.Transport.Tls;

/// <summary>Closes a connection whose handshake outlives the timeout, from the worker's timer wheel (both server engines).</summary>
internal sealed class HandshakeDeadline(Connection connection) : TimerEntry
{
    public bool Expired { get; private set; }

    public void Arm(Worker worker, TimeSpan timeout)
    {
        worker.Timers.Schedule(this, worker.NowMs, (long)timeout.TotalMilliseconds);
    }

    public void Disarm() => Wheel?.Cancel(this);

    public override void OnExpired()
    {
        Expired = true;
        connection.Abort();
    }
}
