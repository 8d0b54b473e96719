using Fastsock.Locality;
using Microsoft.Extensions.Logging;

namespace Fastsock.Samples.AspNetCore;

internal enum SampleTransport
{
    Fastsock,
    Sockets,
}

/// <summary>The sample's command line, parsed.</summary>
internal sealed record SampleSettings(SampleTransport Transport, string[] Urls, CpuSet? Cores, ListenerSteering Steering, LogLevel LogLevel);
