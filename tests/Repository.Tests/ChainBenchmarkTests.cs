using System.Globalization;
using System.Text.RegularExpressions;

namespace Repository.Tests;

/// <summary>
/// bench/chain.sh works end to end: a short run (1 s rounds) measures the chain at step 07, at
/// step 08, and at step 08 keeping one trace in ten, and step 08's spans reach the OTLP receiver. The figures of so short a run mean nothing
/// and are not judged; that every chain answered without errors, that step 08 exported its traces
/// and step 07 none, and that bench/README.md shows a report of the shape the script prints, is.
/// </summary>
[Collection(nameof(BenchmarkCollection))]
public sealed partial class ChainBenchmarkTests
{
    [Fact]
    public async Task ShortRun_MeasuresEveryChain_AndStep08sSpansReachTheReceiver()
    {
        Tools.Require("apt-get install wrk curl", "wrk", "curl");
        var results = Directory.CreateTempSubdirectory("bench-results-").FullName;

        var result = await Shell.RunAsync("bash", [Path.Combine("bench", "chain.sh"), "1", "4", "1"], TimeSpan.FromMinutes(6),
            environment: new Dictionary<string, string> { ["BENCH_RESULTS_DIR"] = results });
        var output = result.Output + result.Errors;

        Assert.True(result.ExitCode == 0, output);
        var full = Rows(output, "full load (");
        var paced = Rows(output, "paced load (");
        foreach (var chain in new[] { "07", "08", "08s" })
        {
            Assert.True(full[chain].RequestsPerSecond > 0, $"chain {chain} answered nothing:\n{output}");
            Assert.Equal(0, full[chain].Non2xx);
            Assert.Equal(0, paced[chain].Non2xx);
        }

        // Seven spans per request at step 08; batches still on their way at the end of a round are
        // counted with the next one, so a one-second round sees fewer. Step 07 exports none of its own.
        Assert.True(full["08"].SpansPerRequest > 1, $"step 08's spans did not reach the receiver:\n{output}");
        Assert.Matches(@"08/07 throughput: +[0-9]+\.[0-9]+x +\(target: at least 0\.90x\)", output);
        Assert.Matches(@"08s/07 throughput: +[0-9]+\.[0-9]+x +\(one trace in ten kept\)", output);
        Assert.Matches("sampling: 08 keeps and exports every trace", output);
        Assert.Single(Directory.GetFiles(results, "chain-*.txt"));

        ReportShape.AssertPrinted(ReportShape.ReadmeReport("## Tracing cost (step 08)"), output);

        Directory.Delete(results, recursive: true);
    }

    [Theory]
    [InlineData("ten")]
    [InlineData("0")]
    public async Task BadArgument_IsRefusedInOneLine(string argument)
    {
        var result = await Shell.RunAsync("bash", [Path.Combine("bench", "chain.sh"), argument], TimeSpan.FromSeconds(30));

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single((result.Output + result.Errors).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"'{argument}' is not a whole number above 0", line);
    }

    private sealed record Row(double RequestsPerSecond, int Non2xx, double SpansPerRequest);

    /// <summary>The rows (chains 07, 08 and 08s) of the table under the heading that starts with <paramref name="heading"/>.</summary>
    private static Dictionary<string, Row> Rows(string output, string heading)
    {
        var lines = output.Split('\n');
        var start = Array.FindIndex(lines, l => l.StartsWith(heading, StringComparison.Ordinal));
        Assert.True(start >= 0, $"no '{heading}' table in:\n{output}");
        var header = Regex.Split(lines[start + 1].Trim(), " {2,}");
        Assert.Equal("chain", header[0]);
        var spansColumn = Array.IndexOf(header, "spans/request");
        var rows = new Dictionary<string, Row>();
        foreach (var line in lines.Skip(start + 2).TakeWhile(l => Regex.IsMatch(l, "^(07|08|08s) +[0-9]")))
        {
            var cells = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            rows[cells[0]] = new Row(
                double.Parse(cells[1], CultureInfo.InvariantCulture),
                int.Parse(cells[Array.IndexOf(header, "non-2xx")], CultureInfo.InvariantCulture),
                spansColumn >= 0 ? double.Parse(cells[spansColumn], CultureInfo.InvariantCulture) : -1);
        }

        Assert.Equal(["07", "08", "08s"], rows.Keys.Order());
        return rows;
    }

}
