using Fastsock.Samples.Proxy.Config;
using Fastsock.Samples.Proxy.Health;

namespace Fastsock.Samples.Proxy.Balancing;

/// <summary>
/// One server as every worker sees it. The health checker and passive health (errors seen by any worker) change its
/// state; workers read it on each pick with no lock (a flag that changes a few times a day costs nothing to share).
/// Each change bumps <see cref="Generation"/>, so a worker can tell "went DOWN since I last looked" from one read.
/// Its settings (weight, PROXY header, fast path) may be replaced by a reload, DNS or the runtime API; its name, address and
/// <see cref="Index"/> never change, so a reload that keeps the server keeps this object, its health and its pooled connections.
/// </summary>
internal sealed class ServerState(ServerSettings settings, int index)
{
    private readonly Lock _stateChange = new();
    private volatile ServerSettings _settings = settings;
    private volatile ServerAdminState _admin;
    private volatile bool _retired;
    private volatile bool _up = true;

    // A weight the runtime API set (-1: none), and the configured weight it replaced: it stays while that is configured.
    private int _runtimeWeight = -1;
    private int _replacedWeight;
    private int _generation;
    private int _errorsInARow;

    // Slow start: while TickCount64 is below this, the weight ramps up; 0 when not ramping (one read per pick).
    private long _rampEndsMs;
    private long _rampMs;

    /// <summary>The current settings: replaced whole (one reference write) when a reload or the runtime API changes them.</summary>
    public ServerSettings Settings
    {
        get => _settings;
        set => _settings = value;
    }

    /// <summary>
    /// Takes the settings a reload or a DNS answer gives this server. A weight the runtime API set stays, as its admin
    /// state and its health do, unless the configured weight itself changed: then the new configured weight applies.
    /// </summary>
    public void Configure(ServerSettings configured)
    {
        lock (_stateChange)
        {
            if (_runtimeWeight >= 0 && configured.Weight == _replacedWeight)
            {
                configured = configured with { Weight = _runtimeWeight };
            }
            else
            {
                _runtimeWeight = -1;
            }

            // Equal TLS settings (always, for a server matched by name and address) keep their object, so the server's
            // client TLS counters run on across reloads and DNS updates instead of starting from zero.
            if (configured.Tls is { } tls && tls.Equals(_settings.Tls))
            {
                configured = configured with { Tls = _settings.Tls };
            }

            _settings = configured;
        }
    }

    /// <summary>The runtime API's weight (kept across DNS updates and reloads, see <see cref="Configure"/>); returns the weight it replaced.</summary>
    public int SetRuntimeWeight(int weight)
    {
        lock (_stateChange)
        {
            var current = _settings;
            if (_runtimeWeight < 0)
            {
                _replacedWeight = current.Weight;
            }

            _runtimeWeight = weight;
            _settings = current with { Weight = weight };
            return current.Weight;
        }
    }

    /// <summary>Its slot in the backend (counter rows, per-worker load and pools): stable while the server is in the set.</summary>
    public int Index { get; } = index;

    /// <summary>Set by the runtime API: ready (in rotation), drain (no new sessions) or maint (out, idle connections closed).</summary>
    public ServerAdminState AdminState
    {
        get => _admin;
        set => _admin = value;
    }

    /// <summary>Removed from the backend's set (reload, DNS): picked no more; workers close its idle connections.</summary>
    public bool IsRetired
    {
        get => _retired;
        set => _retired = value;
    }

    /// <summary>Its idle pooled connections should be closed: DOWN, in maintenance or removed.</summary>
    public bool ShouldCloseIdle => !_up || _admin == ServerAdminState.Maint || _retired;

    /// <summary>The weight balancers use: the configured one, or less while a slow start ramps it up (at least 1).</summary>
    public int Weight
    {
        get
        {
            long rampEnds = Volatile.Read(ref _rampEndsMs);
            if (rampEnds == 0)
            {
                return Settings.Weight;
            }

            long left = rampEnds - Environment.TickCount64;
            if (left <= 0)
            {
                Volatile.Write(ref _rampEndsMs, 0);
                return Settings.Weight;
            }

            long ramp = Volatile.Read(ref _rampMs);
            return Settings.Weight == 0 ? 0 : (int)Math.Max(1, Settings.Weight * (ramp - left) / Math.Max(1, ramp));
        }
    }

    /// <summary>Up or down; setting it directly is for tests and the checker (use <see cref="TryMarkUp"/>/<see cref="TryMarkDown"/>).</summary>
    public bool IsUp
    {
        get => _up;
        set
        {
            if (value)
            {
                TryMarkUp(TimeSpan.Zero);
            }
            else
            {
                TryMarkDown();
            }
        }
    }

    /// <summary>Bumped on every UP/DOWN change.</summary>
    public int Generation => Volatile.Read(ref _generation);

    /// <summary>Failed exchanges not yet logged, by reason (one aggregated line per second at most).</summary>
    public FailureLog Failures { get; } = new();

    /// <summary>True when this call took the server DOWN (only one caller wins a race).</summary>
    /// <remarks>The lock is on the rare state-change path only, never on a pick.</remarks>
    public bool TryMarkDown()
    {
        lock (_stateChange)
        {
            if (!_up)
            {
                return false;
            }

            _up = false;
            Volatile.Write(ref _rampEndsMs, 0);
            Interlocked.Increment(ref _generation);
            return true;
        }
    }

    /// <summary>True when this call brought the server UP; its weight then ramps over <paramref name="slowStart"/>.</summary>
    public bool TryMarkUp(TimeSpan slowStart)
    {
        lock (_stateChange)
        {
            if (_up)
            {
                return false;
            }

            Volatile.Write(ref _errorsInARow, 0);
            if (slowStart > TimeSpan.Zero)
            {
                // Rounded up: the ramp never ends before slowStart has passed.
                long rampMs = Duration.CeilingMilliseconds(slowStart);
                Volatile.Write(ref _rampMs, rampMs);
                Volatile.Write(ref _rampEndsMs, Environment.TickCount64 + rampMs);
            }

            _up = true;
            Interlocked.Increment(ref _generation);
            return true;
        }
    }

    /// <summary>Counts one more error in a row seen on live traffic; returns how many in a row now.</summary>
    public int CountError() => Interlocked.Increment(ref _errorsInARow);

    /// <summary>A good exchange ends the run of errors; written only when there was one, so the line stays shared-clean.</summary>
    public void ClearErrors()
    {
        if (Volatile.Read(ref _errorsInARow) != 0)
        {
            Volatile.Write(ref _errorsInARow, 0);
        }
    }

    public override string ToString() => $"{Settings.Name} ({Settings.Address})";
}
