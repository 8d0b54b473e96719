using System.Globalization;
using Fastsock.Perf.Locality;

// Fastsock locality experiment tool. Two modes:
//   active   --target IP:PORT --strategy rss|modulo|kernel [--cores 0-1] [--connections N] [--concurrency C]
//            [--rss-interface IF] [--rss-model] [--listen IP:PORT] [--path /plaintext]
//   simulate [--samples N] [--seed S]
// Exit code 0 on success, 2 on a usage error, 1 when the run failed.
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine(Usage.Text);
    return args.Length == 0 ? 2 : 0;
}

try
{
    var options = Arguments.Parse(args.AsSpan(1));
    return args[0] switch
    {
        "active" => await ActiveRun.RunAsync(options),
        "simulate" => RssSimulation.Run(options),
        _ => throw new FormatException($"Unknown mode '{args[0]}'; use active or simulate."),
    };
}
catch (FormatException ex)
{
    Console.Error.WriteLine($"fastsock-locality: {ex.Message}");
    Console.Error.WriteLine(Usage.Text);
    return 2;
}

internal static class Usage
{
    public const string Text = """
        usage: Fastsock.Perf.Locality active --target IP:PORT --strategy rss|modulo|kernel [--cores 0-1]
                   [--connections 2000] [--concurrency 16] [--rss-interface IF] [--rss-model]
                   [--listen 127.0.0.1:0] [--path /plaintext]
               Fastsock.Perf.Locality simulate [--samples 20000] [--seed 1]
        active:   opens N outbound connections (round-robin over the workers) with server.ConnectAsync, sends
                  'GET PATH HTTP/1.1' with 'Connection: close', reads the reply to the end, then prints the
                  per-worker OutboundLocal/OutboundRemote counts and one 'RESULT key=value …' line.
                  --rss-model: give rss the Microsoft default key and a 128-entry table over --cores instead of
                  reading the interface (ETHTOOL_GRSSH), to see what a Toeplitz model does on a non-Toeplitz path.
        simulate: RSS simulation (Microsoft default key, 128-entry table round-robin over N queues, queue q on
                  CPU q) for N = 2..64; prints a markdown table.
        """;
}

/// <summary>--name value pairs and bare --flags.</summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);

    public static Arguments Parse(ReadOnlySpan<string> args)
    {
        var parsed = new Arguments();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (!name.StartsWith("--", StringComparison.Ordinal))
            {
                throw new FormatException($"Unexpected argument '{name}'.");
            }

            string? value = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : null;
            parsed._values[name[2..]] = value;
        }

        return parsed;
    }

    public bool Flag(string name) => _values.ContainsKey(name);

    public string? Get(string name) => _values.TryGetValue(name, out var v) ? v ?? throw new FormatException($"--{name} needs a value.") : null;

    public string Require(string name) => Get(name) ?? throw new FormatException($"--{name} is required.");

    public int Int(string name, int fallback, int min, int max)
    {
        var text = Get(name);
        if (text is null)
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
        {
            throw new FormatException($"--{name} '{text}' must be a number from {min} to {max}.");
        }

        return value;
    }
}
