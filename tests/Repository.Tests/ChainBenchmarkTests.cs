using System.Globalization;
using System.Text.RegularExpressions;

namespace Repository.Tests;

/// <summary>
/// bench/chain.sh works end to end: a short run (1 s rounds) measures the chain at steps 03, 07, 08,
/// 08 keeping one trace in ten, and 09; the traced steps' spans reach the OTLP receiver, and step 09's
/// services are scraped. The figures of so short a run mean nothing and are not judged; that every
/// chain answered without errors, that the traced chains exported their traces, that memory and
/// scrapes were measured, and that bench/README.md shows a report of the shape the script prints, is.
/// </summary>
[Collection(nameof(BenchmarkCollection))]
public sealed partial class ChainBenchmarkTests
{
    [Fact]
    public async Task ShortRun_MeasuresEveryChain_ItsMemory_AndStep09sScrapes()
    {
        Tools.Require("apt-get install wrk curl", "wrk", "curl");
        var results = Directory.CreateTempSubdirectory("bench-results-").FullName;

        var result = await Shell.RunAsync("bash", [Path.Combine("bench", "chain.sh"), "1", "4", "1"], TimeSpan.FromMinutes(10),
            environment: new Dictionary<string, string> { ["BENCH_RESULTS_DIR"] = results });
        var output = result.Output + result.Errors;

        Assert.True(result.ExitCode == 0, output);
        var full = Rows(output, "full load (");
        var paced = Rows(output, "paced load (");
        foreach (var chain in Chains)
        {
            Assert.True(full[chain].RequestsPerSecond > 0, $"chain {chain} answered nothing:\n{output}");
            Assert.Equal(0, full[chain].Non2xx);
            Assert.Equal(0, paced[chain].Non2xx);
        }

        // Seven spans per request from step 08 on; batches still on their way at the end of a round
        // are counted with the next one, so a one-second round sees fewer.
        Assert.True(full["08"].SpansPerRequest > 1, $"step 08's spans did not reach the receiver:\n{output}");
        Assert.True(full["09"].SpansPerRequest > 1, $"step 09's spans did not reach the receiver:\n{output}");
        Assert.Matches(@"08/07 throughput: +[0-9]+\.[0-9]+x +\(target: at least 0\.90x\)", output);
        Assert.Matches(@"08s/07 throughput: +[0-9]+\.[0-9]+x +\(one trace in ten kept\)", output);
        Assert.Matches(@"09/03 throughput: +[0-9]+\.[0-9]+x +\(target: at least 0\.85x\)", output);
        Assert.Matches(@"09 p99 over 03: +[-+][0-9]+\.[0-9]+ ms +\(target: at most \+1 ms\)", output);

        // Each service's memory at rest and under load, in MB; what a scrape of each of step 09's costs.
        foreach (var chain in Chains)
        {
            Assert.Matches($@"\n{Regex.Escape(chain)} +[1-9][0-9]*/[1-9][0-9]*/[1-9][0-9]* +[1-9][0-9]*/[1-9][0-9]*/[1-9][0-9]*\n", output);
        }

        foreach (var service in new[] { "gateway", "users", "accounts" })
        {
            var scrape = Regex.Match(output, $@"\n09 +{service} +(?<ms>[0-9.]+) +(?<kb>[0-9.]+) +(?<cpu>[0-9.]+)\n");
            Assert.True(scrape.Success, $"no scrape figures for step 09's {service}:\n{output}");
            Assert.True(double.Parse(scrape.Groups["kb"].Value, CultureInfo.InvariantCulture) > 1, $"step 09's {service} served a near-empty /metrics:\n{output}");
        }

        Assert.DoesNotMatch(@"\n(03|07|08|08s) +(gateway|users|accounts) +[0-9]", output); // no /metrics before step 09
        Assert.Single(Directory.GetFiles(results, "chain-*.txt"));

        ReportShape.AssertPrinted(ReportShape.ReadmeReport("## The chain, lesson by lesson"), output);

        Directory.Delete(results, recursive: true);
    }

    [Fact]
    public async Task BadChain_IsRefusedInOneLine()
    {
        var result = await Shell.RunAsync("bash", [Path.Combine("bench", "chain.sh"), "1"], TimeSpan.FromSeconds(30),
            environment: new Dictionary<string, string> { ["BENCH_CHAINS"] = "03 11" });

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single((result.Output + result.Errors).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("'11' in BENCH_CHAINS is not a step number", line);
    }

    private static readonly string[] Chains = ["03", "07", "08", "08s", "09"];

    [Theory]
    [InlineData("ten")]
    [InlineData("0")]
    public Task BadArgument_IsRefusedInOneLine(string argument) => BenchScript.AssertRefusedInOneLineAsync("chain.sh", argument);

    private sealed record Row(double RequestsPerSecond, int Non2xx, double SpansPerRequest);

    /// <summary>The rows (one per chain) of the table under the heading that starts with <paramref name="heading"/>.</summary>
    private static Dictionary<string, Row> Rows(string output, string heading)
    {
        var lines = output.Split('\n');
        var start = Array.FindIndex(lines, l => l.StartsWith(heading, StringComparison.Ordinal));
        Assert.True(start >= 0, $"no '{heading}' table in:\n{output}");
        var header = Regex.Split(lines[start + 1].Trim(), " {2,}");
        Assert.Equal("chain", header[0]);
        var spansColumn = Array.IndexOf(header, "spans/request");
        var rows = new Dictionary<string, Row>();
        foreach (var line in lines.Skip(start + 2).TakeWhile(l => Regex.IsMatch(l, "^[0-9]{2}s? +[0-9]")))
        {
            var cells = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            rows[cells[0]] = new Row(
                double.Parse(cells[1], CultureInfo.InvariantCulture),
                int.Parse(cells[Array.IndexOf(header, "non-2xx")], CultureInfo.InvariantCulture),
                spansColumn >= 0 ? double.Parse(cells[spansColumn], CultureInfo.InvariantCulture) : -1);
        }

        Assert.Equal(Chains, rows.Keys.Order(StringComparer.Ordinal));
        return rows;
    }

}
