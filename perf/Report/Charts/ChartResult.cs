namespace Fastsock.Perf.Report.Charts;

/// <summary>A chart the report links to, or says why it is missing.</summary>
internal sealed record ChartResult(ChartSpec Spec, string? Problem)
{
    public bool Drawn => Problem is null;
}
