using System.Globalization;

namespace Fastsock.Perf.TlsRecords;

/// <summary>The handshake mode's results: one line per server and case, then a Markdown table of the two side by side.</summary>
internal static class HandshakeReport
{
    public sealed record Row(string Case, string Server, string Negotiated, List<double> Microseconds, List<double> AllocatedBytes, double BytesSent, double Steps, bool? SameTicketTwice);

    public static void Print(List<Row> rows)
    {
        foreach (var row in rows)
        {
            row.Microseconds.Sort();
            row.AllocatedBytes.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{row.Case,-27} {row.Server,-25} median {Median(row.Microseconds),7:F1} µs/handshake (min {row.Microseconds[0]:F1}, max {row.Microseconds[^1]:F1}); " +
                $"{Median(row.AllocatedBytes),7:F0} B managed/handshake; server sent {row.BytesSent:F0} B in {row.Steps:F1} timed steps; {row.Negotiated}{Reuse(row.SameTicketTwice)}"));
        }

        Console.WriteLine();
        if (rows.Count < 2 || rows[0].Case != rows[1].Case)
        {
            return;
        }

        // Each case's two servers side by side: the first (SslStream) over the second (libssl, or the experiment).
        string first = rows[0].Server;
        string second = rows[1].Server;
        Console.WriteLine($"| handshake | negotiated (client's view) | {first} µs | {second} µs | {first} / {second} | difference µs | {first} B allocated |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        for (int i = 0; i + 1 < rows.Count; i += 2)
        {
            var a = rows[i];
            var b = rows[i + 1];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {a.Case} | {a.Negotiated} | {Range(a.Microseconds)} | {Range(b.Microseconds)} | " +
                $"{Median(a.Microseconds) / Median(b.Microseconds):F3}× | {Median(a.Microseconds) - Median(b.Microseconds):F1} | {Median(a.AllocatedBytes):N0} |"));
        }
    }

    private static string Reuse(bool? sameTicketTwice) => sameTicketTwice switch
    {
        true => "; the same ticket resumes twice",
        false => "; the same ticket does not resume twice (single-use)",
        null => "",
    };

    private static string Range(List<double> sorted) =>
        string.Create(CultureInfo.InvariantCulture, $"{Median(sorted):F1} ({sorted[0]:F1}–{sorted[^1]:F1})");

    private static double Median(List<double> sorted) => sorted[sorted.Count / 2];
}
