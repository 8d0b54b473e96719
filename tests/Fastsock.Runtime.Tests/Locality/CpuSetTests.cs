using Fastsock.Locality;

namespace Fastsock.Tests.Locality;

public sealed class CpuSetTests
{
    [Theory]
    [InlineData("0-3,8", new[] { 0, 1, 2, 3, 8 })]
    [InlineData("0,2,5", new[] { 0, 2, 5 })]
    [InlineData("7", new[] { 7 })]
    public void Parse_and_format_round_trip(string text, int[] cpus)
    {
        var set = CpuSet.Parse(text);
        Assert.Equal(cpus, set);
        Assert.Equal(text, set.ToString());
        Assert.Equal(text, CpuSet.Parse(set.ToString()).ToString());
    }

    [Fact]
    public void Overlapping_and_unordered_parts_collapse_to_the_compact_form()
    {
        Assert.Equal("0-3,8", CpuSet.Parse(" 8, 2-3,0-2 ,1").ToString());
    }

    [Fact]
    public void All_is_the_affinity_mask()
    {
        Assert.Equal(CpuSet.Allowed().ToString(), CpuSet.Parse("all").ToString());
    }
}
