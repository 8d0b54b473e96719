using System.CommandLine;
using Fastsock.Locality;
using Fastsock.Samples.AspNetCore;
using Microsoft.Extensions.Logging;

var transport = new Option<string>("--transport")
{
    Description = "Kestrel's transport: fastsock (the per-core workers) or sockets (Kestrel's default); the app is the same",
    DefaultValueFactory = _ => "fastsock",
};
transport.AcceptOnlyFromAmong("fastsock", "sockets");
var urls = new Option<string[]>("--urls")
{
    Description = "Addresses to listen on (several allowed): http://127.0.0.1:8080 http://[::1]:8080 http://localhost:0",
    AllowMultipleArgumentsPerToken = true,
    DefaultValueFactory = _ => ["http://127.0.0.1:8080"],
};
var cores = new Option<CpuSet?>("--cores")
{
    Description = "fastsock: CPUs to run one worker each on: all, 0-3 or 0,2,5 (default: the process's affinity mask)",
    CustomParser = ParseCores,
};
var steering = new Option<string>("--steering")
{
    Description = "fastsock: how connections reach workers: cpu (the SYN's CPU), hash (kernel flow hash) or single (one shared listener)",
    DefaultValueFactory = _ => "cpu",
};
steering.AcceptOnlyFromAmong("cpu", "hash", "single");
var logLevel = new Option<LogLevel>("--log-level")
{
    Description = "Minimum log level (Information logs every request)",
    DefaultValueFactory = _ => LogLevel.Warning,
};

var root = new RootCommand("Fastsock ASP.NET Core sample: a minimal-API app on Fastsock's workers or on Kestrel's sockets transport.")
{
    transport, urls, cores, steering, logLevel,
};
root.SetAction((parse, cancellation) => SampleApp.RunAsync(
    new SampleSettings(
        parse.GetValue(transport) == "sockets" ? SampleTransport.Sockets : SampleTransport.Fastsock,
        parse.GetValue(urls)!,
        parse.GetValue(cores),
        parse.GetValue(steering) switch { "hash" => ListenerSteering.Hash, "single" => ListenerSteering.Single, _ => ListenerSteering.Cpu },
        parse.GetValue(logLevel)),
    cancellation));

// A bad option value is one line naming what to fix and exit 2, as the other samples answer.
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    Console.Error.WriteLine($"fastsock-aspnetcore: {parsed.Errors[0].Message} (--help lists the options)");
    return 2;
}

// The host handles SIGTERM/SIGINT itself (graceful drain), so the command line library must not.
return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });

// Checked here, so a bad set is one line and exit 2 rather than a failed host start with a stack trace.
static CpuSet? ParseCores(System.CommandLine.Parsing.ArgumentResult result)
{
    string text = result.Tokens.Count == 0 ? "all" : result.Tokens[^1].Value.Trim();
    if (text.Equals("all", StringComparison.OrdinalIgnoreCase))
    {
        return null;
    }

    try
    {
        var set = CpuSet.Parse(text);
        var allowed = CpuSet.Allowed();
        foreach (int cpu in set)
        {
            if (!allowed.Contains(cpu))
            {
                result.AddError($"--cores: CPU {cpu} is not in this process's affinity mask ({allowed}); pick CPUs from it or widen the mask (taskset -c)");
                return null;
            }
        }

        return set;
    }
    catch (FormatException ex)
    {
        result.AddError($"--cores: {ex.Message}");
        return null;
    }
}
