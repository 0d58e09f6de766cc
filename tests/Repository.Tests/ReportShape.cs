using System.Text.RegularExpressions;

namespace Repository.Tests;

/// <summary>The reports bench/README.md quotes, compared with what a benchmark script prints.</summary>
internal static partial class ReportShape
{
    /// <summary>The lines of the first ```text block under <paramref name="heading"/> in bench/README.md.</summary>
    public static IReadOnlyList<string> ReadmeReport(string heading)
    {
        var readme = File.ReadAllText(Path.Combine(Repo.Root, "bench", "README.md"));
        var section = readme.IndexOf(heading, StringComparison.Ordinal);
        Assert.True(section >= 0, $"bench/README.md has no section '{heading}'");
        var block = ReportBlock().Match(readme[section..]);
        Assert.True(block.Success, $"bench/README.md has no ```text report under {heading}");
        return block.Groups["report"].Value.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToList();
    }

    /// <summary>
    /// Every line of the README's report is a line of the output with the same words and any figures:
    /// each figure of the README line may be any number in the output.
    /// </summary>
    public static void AssertPrinted(IEnumerable<string> readmeLines, string output)
    {
        var outputLines = output.Split('\n').Select(Words).ToList();
        foreach (var line in readmeLines)
        {
            var shape = new Regex("^" + string.Join(" ", Words(line).Split(' ').Select(word =>
                string.Join(@"[-+]?[0-9]+(\.[0-9]+)?", Figure().Split(word).Select(Regex.Escape)))) + "$");
            Assert.True(outputLines.Any(shape.IsMatch), $"bench/README.md shows a line the script does not print: {line}\n{output}");
        }
    }

    private static string Words(string line) => string.Join(' ', line.Split(' ', StringSplitOptions.RemoveEmptyEntries));

    /// <summary>A figure in a word: "4391", "+3.173", "0.81" in "0.81x", "0.80" in "(target:...0.80x)", each of "148/179/158".</summary>
    [GeneratedRegex(@"(?<=^|\(|/)[-+]?[0-9]+(?:\.[0-9]+)?")]
    private static partial Regex Figure();

    [GeneratedRegex(@"```text\n(?<report>.*?)```", RegexOptions.Singleline)]
    private static partial Regex ReportBlock();
}
