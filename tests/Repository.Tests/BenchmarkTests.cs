using System.Globalization;
using System.Text.RegularExpressions;

namespace Repository.Tests;

/// <summary>The benchmark loads both cores: its tests run alone, after the others of this assembly.</summary>
[CollectionDefinition(nameof(BenchmarkCollection), DisableParallelization = true)]
public sealed class BenchmarkCollection;

/// <summary>
/// bench/run.sh works end to end: a short run (1 s rounds) measures every path at every load. The
/// figures of so short a run mean nothing and are not judged; that every path answered, without
/// errors, at the rate asked for, and in the shape bench/README.md shows, is.
/// </summary>
[Collection(nameof(BenchmarkCollection))]
public sealed partial class BenchmarkTests
{
    private static readonly string[] Paths = ["direct", "nginx", "gateway", "yarp"];

    [Fact]
    public async Task ShortRun_MeasuresEveryPath_AtEveryLoad_WithoutErrors()
    {
        Tools.Require("apt-get install wrk nginx-light curl", "wrk", "nginx", "curl");
        var results = Directory.CreateTempSubdirectory("bench-results-").FullName;

        var (exitCode, output) = await RunAsync(TimeSpan.FromMinutes(5), new() { ["BENCH_RESULTS_DIR"] = results, ["BENCH_WARMUP_ROUNDS"] = "2" }, "1", "4", "1"); // its figures are not read

        Assert.True(exitCode == 0, output);
        var full = Table(output, "full load (");
        var paced = Table(output, "paced load (");
        var light = Table(output, "light load (");
        foreach (var path in Paths)
        {
            Assert.True(full[path].RequestsPerSecond > 0, $"{path} answered nothing at full load:\n{output}");
            Assert.True(light[path].RequestsPerSecond > 0, $"{path} answered nothing at light load:\n{output}");
            Assert.All(new[] { full[path], paced[path], light[path] }, row => Assert.Equal(0, row.Non2xx));
        }

        // The runtime probe reports every .NET process's allocations; nginx has no .NET memory to report.
        foreach (var path in Paths.Where(p => p != "nginx"))
        {
            Assert.True(double.TryParse(full[path].Allocated, CultureInfo.InvariantCulture, out var bytes) && bytes > 0,
                $"no bytes allocated per request for {path}:\n{output}");
        }

        Assert.Equal("-", full["nginx"].Allocated);

        // The runtime probe also says how long the .NET processes spent compiling code during the
        // rounds, and the warm-up says how many rounds each path needed before they stopped.
        Assert.All(Paths, path => Assert.True(full[path].JitMilliseconds >= 0, $"no compile time for {path}:\n{output}"));
        Assert.Matches(@"warm-up: rounds per path until one spent under 1% of its time compiling code: direct [0-9]+", output);

        // The paced phase sends the rate it announces: well below what an unpaced 4-connection run
        // reaches, and not far under it either.
        var offered = int.Parse(PacedOffer().Match(output).Groups["rate"].Value, CultureInfo.InvariantCulture);
        foreach (var path in Paths)
        {
            Assert.InRange(paced[path].RequestsPerSecond, offered * 0.5, offered * 1.1);
        }

        // The report is saved, and bench/README.md shows a report of the same shape.
        var saved = Assert.Single(Directory.GetFiles(results, "*.txt"));
        Assert.Contains("gateway/nginx  throughput:", File.ReadAllText(saved));
        // How much of the machine the hypervisor gave away meanwhile, read from /proc/stat.
        Assert.Matches(@"CPU time stolen by the hypervisor while measuring: [0-9]+\.[0-9]%", output);
        ReportShape.AssertPrinted(ReportShape.ReadmeReport("## Results"), output);

        Directory.Delete(results, recursive: true);
    }

    [Theory]
    [InlineData("ten")]
    [InlineData("0")]
    [InlineData("-5")]
    public async Task BadArgument_IsRefusedInOneLine(string argument)
    {
        var (exitCode, output) = await RunAsync(TimeSpan.FromSeconds(30), [], argument);

        BenchScript.AssertRefusedInOneLine(exitCode, output, argument);
    }

    /// <param name="Allocated">The "alloc B/request" cell, where the table has that column.</param>
    /// <param name="JitMilliseconds">The "jit ms" cell, where the table has that column; -1 where not.</param>
    private sealed record Row(double RequestsPerSecond, int Non2xx, string? Allocated, double JitMilliseconds);

    /// <summary>The rows of the report table under the heading that starts with <paramref name="heading"/>.</summary>
    private static Dictionary<string, Row> Table(string output, string heading)
    {
        var lines = output.Split('\n');
        var start = Array.FindIndex(lines, l => l.StartsWith(heading, StringComparison.Ordinal));
        Assert.True(start >= 0, $"no '{heading}' table in:\n{output}");
        // Column titles are set apart by two spaces or more ("p50 ms" is one title).
        var header = ColumnGap().Split(lines[start + 1].Trim());
        Assert.Equal("path", header[0]);
        var non2xxColumn = Array.IndexOf(header, "non-2xx");
        var allocatedColumn = Array.IndexOf(header, "alloc B/request");
        var jitColumn = Array.IndexOf(header, "jit ms");

        var rows = new Dictionary<string, Row>();
        foreach (var line in lines.Skip(start + 2).TakeWhile(l => TableRow().IsMatch(l)))
        {
            var cells = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            rows[cells[0]] = new Row(
                double.Parse(cells[1], CultureInfo.InvariantCulture),
                int.Parse(cells[non2xxColumn], CultureInfo.InvariantCulture),
                allocatedColumn >= 0 ? cells[allocatedColumn] : null,
                jitColumn >= 0 ? double.Parse(cells[jitColumn], CultureInfo.InvariantCulture) : -1);
        }

        Assert.Equal(Paths.Order(), rows.Keys.Order());
        return rows;
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(TimeSpan timeout, Dictionary<string, string> environment, params string[] args)
    {
        var result = await Shell.RunAsync("bash", [Path.Combine("bench", "run.sh"), .. args], timeout, environment: environment);
        return (result.ExitCode, result.Output + result.Errors);
    }

    [GeneratedRegex(" {2,}")]
    private static partial Regex ColumnGap();

    [GeneratedRegex(@"^(direct|nginx|gateway|yarp) +[0-9]")]
    private static partial Regex TableRow();

    [GeneratedRegex(@"paced load \((?<rate>[0-9]+) requests/s offered")]
    private static partial Regex PacedOffer();
}
