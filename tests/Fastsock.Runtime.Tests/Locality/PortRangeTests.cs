using Fastsock.Locality;

namespace Fastsock.Tests.Locality;

public sealed class PortRangeTests
{
    [Theory]
    [InlineData(32768, 60999, 2)]
    [InlineData(32768, 60999, 3)]
    [InlineData(1024, 65535, 64)]
    [InlineData(40000, 40006, 7)]
    public void Worker_slices_are_disjoint_and_cover_the_range(int first, int last, int workers)
    {
        var range = new PortRange(first, last);
        int expected = first;
        for (int i = 0; i < workers; i++)
        {
            var slice = range.Slice(i, workers);
            Assert.Equal(expected, slice.First);
            Assert.True(slice.Count >= range.Count / workers);
            expected = slice.Last + 1;
        }

        Assert.Equal(last + 1, expected);
    }

    [Fact]
    public void Range_smaller_than_the_worker_count_is_refused_with_both_numbers()
    {
        var error = Assert.Throws<ArgumentException>(() => new PortRange(40000, 40002).Slice(0, 4));
        Assert.Contains("40000-40002", error.Message, StringComparison.Ordinal);
        Assert.Contains("4 workers", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ephemeral_range_is_read_from_proc()
    {
        var range = PortRange.ReadEphemeral();
        var text = File.ReadAllText(PortRange.EphemeralRangePath).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(int.Parse(text[0], System.Globalization.CultureInfo.InvariantCulture), range.First);
        Assert.Equal(int.Parse(text[1], System.Globalization.CultureInfo.InvariantCulture), range.Last);
    }

    [Fact]
    public void Inverted_range_is_refused_naming_its_source()
    {
        var error = Assert.Throws<ArgumentException>(() => PortRange.Create(5000, 4000, "Outbound.PortRange"));
        Assert.Contains("5000-4000", error.Message, StringComparison.Ordinal);
        Assert.Contains("Outbound.PortRange", error.Message, StringComparison.Ordinal);
    }
}
