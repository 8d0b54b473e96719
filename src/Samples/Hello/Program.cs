using System.CommandLine;
using Fastsock.Hosting;
using Fastsock.Locality;
using Fastsock.Samples.Hello;
using Microsoft.Extensions.Logging;

var urls = new Option<string[]>("--urls")
{
    Description = "Addresses to listen on, Kestrel style (several allowed): http://127.0.0.1:8080 http://[::1]:8080",
    AllowMultipleArgumentsPerToken = true,
    DefaultValueFactory = _ => ["http://127.0.0.1:8080"],
};
var cores = new Option<string>("--cores")
{
    Description = "CPUs to run one worker each on: all, 0-3 or 0,2,5 (default: the process's affinity mask)",
    DefaultValueFactory = _ => "all",
};
var steering = new Option<ListenerSteering>("--steering")
{
    Description = "How connections reach workers: cpu (the SYN's CPU), hash (kernel flow hash) or single (one shared listener)",
    DefaultValueFactory = _ => ListenerSteering.Cpu,
    CustomParser = ParseSteering,
};
var printNtupleRules = new Option<string?>("--print-ntuple-rules")
{
    Description = "Print the ethtool -N rules that steer the modulo source-port strategy's replies of these --cores to their queues on IFACE, then exit",
    HelpName = "IFACE",
};
var tcpFriends = new Option<bool>("--tcp-friends")
{
    Description = "Loopback connections in this process's cgroup exchange data by BPF socket redirect, skipping TCP/IP (root, cgroup v2)",
};
var logLevel = new Option<LogLevel>("--log-level")
{
    Description = "Minimum log level",
    DefaultValueFactory = _ => LogLevel.Information,
};

var root = new RootCommand("Fastsock Hello: an HTTP/1.1 plaintext server on the per-core runtime, for wrk.")
{
    urls, cores, steering, printNtupleRules, tcpFriends, logLevel,
};
root.SetAction(parse => parse.GetValue(printNtupleRules) is { } iface
    ? PrintNtupleRules(iface, parse.GetValue(cores)!)
    : HelloServer.Run(
    parse.GetValue(urls)!,
    parse.GetValue(cores)!,
    parse.GetValue(steering),
    parse.GetValue(logLevel),
    parse.GetValue(tcpFriends)));

// A bad option value is one line naming what to fix and exit 2, as fastsock-proxy answers: the whole help text buries it.
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    Console.Error.WriteLine($"fastsock-hello: {parsed.Errors[0].Message} (--help lists the options)");
    return 2;
}

// Fastsock handles SIGTERM/SIGINT itself (graceful drain), so the command line library must not.
return parsed.Invoke(new InvocationConfiguration { ProcessTerminationTimeout = null });

static ListenerSteering ParseSteering(System.CommandLine.Parsing.ArgumentResult result)
{
    if (result.Tokens.Count == 0)
    {
        return ListenerSteering.Cpu;
    }

    string value = result.Tokens[^1].Value;
    foreach (var (name, steering) in new[] { ("cpu", ListenerSteering.Cpu), ("hash", ListenerSteering.Hash), ("single", ListenerSteering.Single) })
    {
        if (string.Equals(name, value.Trim(), StringComparison.OrdinalIgnoreCase))
        {
            return steering;
        }
    }

    result.AddError($"--steering: '{value}' is not one of cpu, hash, single");
    return default;
}

static int PrintNtupleRules(string iface, string cores)
{
    try
    {
        var cpus = cores == "all" ? CpuSet.Allowed() : CpuSet.Parse(cores);
        foreach (var line in NtupleRules.For(iface, cpus))
        {
            Console.WriteLine(line);
        }

        return 0;
    }
    catch (FormatException ex)
    {
        Console.Error.WriteLine($"--cores: {ex.Message}");
        return 2;
    }
}
