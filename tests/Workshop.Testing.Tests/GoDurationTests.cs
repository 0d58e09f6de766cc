using Workshop.Testing.Consul;

namespace Workshop.Testing.Tests;

/// <summary>Durations read and written as Go (and so Consul) reads and writes them.</summary>
public sealed class GoDurationTests
{
    [Theory]
    [InlineData("10s", 10_000)]
    [InlineData("5m", 300_000)]
    [InlineData("1m30s", 90_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData(".5s", 500)]
    [InlineData("250ms", 250)]
    [InlineData("1h", 3_600_000)]
    [InlineData("0", 0)]
    [InlineData("-2s", -2_000)]
    public void TryParse_ReadsGoDurations(string text, int milliseconds)
    {
        Assert.True(GoDuration.TryParse(text, out var duration, out var error), error);
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), duration);
    }

    [Theory]
    [InlineData("", "time: invalid duration \"\"")]
    [InlineData("10", "time: missing unit in duration \"10\"")]
    [InlineData("10x", "time: unknown unit \"x\" in duration \"10x\"")]
    [InlineData("s", "time: invalid duration \"s\"")]
    [InlineData("1..5s", "time: invalid duration \"1..5s\"")]
    public void TryParse_RefusesWithGosWords(string text, string expected)
    {
        Assert.False(GoDuration.TryParse(text, out _, out var error));
        Assert.Equal(expected, error);
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(250, "250ms")]
    [InlineData(1_500, "1.5s")]
    [InlineData(10_000, "10s")]
    [InlineData(60_000, "1m0s")]
    [InlineData(90_000, "1m30s")]
    [InlineData(5_400_000, "1h30m0s")]
    public void Format_WritesGoDurations(int milliseconds, string expected) =>
        Assert.Equal(expected, GoDuration.Format(TimeSpan.FromMilliseconds(milliseconds)));
}
