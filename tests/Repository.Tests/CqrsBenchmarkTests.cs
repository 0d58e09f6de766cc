using System.Globalization;
using System.Text.RegularExpressions;

namespace Repository.Tests;

/// <summary>
/// bench/cqrs.sh works end to end: a short run (3 s of 100 deposits/s after one 2 s warm-up round) through step
/// 09's chain and step 10's, with a RabbitMQ of its own. The figures of so short a run on a shared machine
/// mean nothing and are not judged (nor is the verdict on the target); that both chains took writes, that
/// every event step 10 recorded was applied once (none lost, none double-applied, the reports' balance
/// equal to accounts'), and that bench/README.md shows a report of the shape the script prints, is.
/// </summary>
[Collection(nameof(BenchmarkCollection))]
public sealed class CqrsBenchmarkTests
{
    [Fact]
    public async Task ShortRun_CountsEveryEvent_AppliedOnce_BesideStep09()
    {
        Tools.Require("apt-get install curl rabbitmq-server", "curl", "rabbitmq-server");
        var results = Directory.CreateTempSubdirectory("bench-results-").FullName;

        var result = await Shell.RunAsync("bash", [Path.Combine("bench", "cqrs.sh"), "100", "3"], TimeSpan.FromMinutes(8),
            environment: new Dictionary<string, string> { ["BENCH_RESULTS_DIR"] = results, ["BENCH_WARMUP_SECONDS"] = "2", ["BENCH_WARMUP_ROUNDS"] = "1" });
        var output = result.Output + result.Errors;

        Assert.True(result.ExitCode == 0, output);
        foreach (var chain in new[] { "09", "10" })
        {
            // chain, writes/s, p50, p99, max, errors, cpu us/write, jit ms
            var row = Regex.Match(output, $@"\n{chain} +(?<rate>[0-9.]+) +(?<p50>[0-9.]+) +(?<p99>[0-9.]+) +[0-9.]+ +[0-9]+ +[0-9]+ +[0-9]+\n");
            Assert.True(row.Success, $"no row for step {chain}:\n{output}");
            Assert.True(Figure(row, "rate") > 0, $"step {chain} took no writes:\n{output}");
            Assert.True(Figure(row, "p99") >= Figure(row, "p50"), output);
        }

        Assert.Matches(@"10/09 write latency p50: +[0-9]+\.[0-9]+x", output);
        Assert.Matches(@"10/09 write latency p99: +[0-9]+\.[0-9]+x", output);

        // Every event recorded in the outboxes was applied, once: the whole point of step 10's design.
        var counts = Regex.Match(output, @"recorded (?<recorded>[0-9]+) \(users (?<users>[0-9]+), accounts (?<accounts>[0-9]+)\), applied (?<applied>[0-9]+), lost (?<lost>[0-9]+), double-applied (?<double>[0-9]+)");
        Assert.True(counts.Success, $"no counts of step 10's events:\n{output}");
        Assert.Equal("0", counts.Groups["lost"].Value);
        Assert.Equal("0", counts.Groups["double"].Value);
        Assert.Equal(counts.Groups["recorded"].Value, counts.Groups["applied"].Value);
        Assert.Equal("4", counts.Groups["users"].Value); // a UserCreated per user created first
        Assert.True(int.Parse(counts.Groups["accounts"].Value, CultureInfo.InvariantCulture) > 8, $"no deposit's event recorded:\n{output}");
        Assert.Matches(@"movements missing from a report 0; applied and recorded nowhere 0;", output);
        Assert.Matches(@"total balance in the reports [0-9]+\.[0-9]{2}, in accounts [0-9]+\.[0-9]{2}: equal yes", output);
        Assert.Matches(@"\n  p50 [0-9]+\.[0-9]{3} ms   p99 [0-9]+\.[0-9]{3} ms   max [0-9]+\.[0-9]{3} ms\n", output);

        // The verdict names the rate asked for and says met or not met, with its figures.
        Assert.Matches(@"\ntarget \(write-to-read lag p99 under 100 ms at 100 writes/s, zero lost, zero double-applied\): (met|not met): p99 [0-9]+\.[0-9]{3} ms at [0-9]+\.[0-9] writes/s, 0 lost, 0 double-applied\n", output);

        var saved = Assert.Single(Directory.GetFiles(results, "cqrs-*.txt"));
        Assert.Contains("write-to-read lag", File.ReadAllText(saved));
        // The README's report, but for its verdict, whose word depends on the run.
        ReportShape.AssertPrinted(ReportShape.ReadmeReport("## Writes and the read model (step 10)").Where(l => !l.StartsWith("target (", StringComparison.Ordinal)), output);

        Directory.Delete(results, recursive: true);
    }

    [Theory]
    [InlineData("fast")]
    [InlineData("0")]
    public Task BadArgument_IsRefusedInOneLine(string argument) => BenchScript.AssertRefusedInOneLineAsync("cqrs.sh", argument);

    private static double Figure(Match row, string group) => double.Parse(row.Groups[group].Value, CultureInfo.InvariantCulture);
}
