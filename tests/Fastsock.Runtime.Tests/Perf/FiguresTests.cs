using Fastsock.Perf.Report;

namespace Fastsock.Tests.Perf;

public sealed class FiguresTests
{
    [Fact]
    public void Figures_show_counts_as_integers_and_keep_three_significant_digits_below_one()
    {
        Assert.Equal("14", Figures.Value(14));
        Assert.Equal("133,280", Figures.Value(133280.4));
        Assert.Equal("7.22", Figures.Value(7.2234));
        Assert.Equal("0.292", Figures.Value(0.2921));
        Assert.Equal("0.003", Figures.Value(0.003));
        Assert.Equal("1.78×", Figures.Ratio(1.7792));
    }
}
