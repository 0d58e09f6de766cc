using System.Text.RegularExpressions;
using Workshop.Steps;

namespace Repository.Tests;

/// <summary>
/// Step N is step N-1 plus one lesson: every file that differs from the previous step (added, changed
/// or removed) is listed in the README's "What changed since the previous step", and every path listed
/// there really changed.
/// </summary>
public sealed partial class IncrementalStepsTests
{
    public const string Section = "## What changed since the previous step";

    public static TheoryData<string> LaterSteps => new(Repo.Steps.Skip(1).Select(s => s.Folder));

    [Fact]
    public void StepsAreNumberedWithoutGaps()
    {
        Assert.NotEmpty(Repo.Steps);
        Assert.Equal(Enumerable.Range(1, Repo.Steps.Count), Repo.Steps.Select(s => s.Number));
    }

    [Theory]
    [MemberData(nameof(LaterSteps))]
    public void ChangedFiles_AreExactlyThoseTheReadmeLists(string folder)
    {
        var step = Repo.Step(folder);
        var previous = Repo.Steps.Single(s => s.Number == step.Number - 1);
        var before = StepFiles.Enumerate(previous.Directory);
        var after = StepFiles.Enumerate(step.Directory);

        // README.md describes the lesson; every other file is the lesson.
        var changed = before.Keys.Union(after.Keys)
            .Where(path => path != "README.md")
            .Where(path => !before.ContainsKey(path) || !after.ContainsKey(path) || !SameText(before[path], after[path]))
            .Order(StringComparer.Ordinal)
            .ToList();
        var listed = ListedPaths(File.ReadAllText(step.ReadmePath));

        static bool Covers(string entry, string path) => entry.EndsWith('/') ? path.StartsWith(entry, StringComparison.Ordinal) : path == entry;

        var unlisted = changed.Where(path => !listed.Any(entry => Covers(entry, path))).ToList();
        Assert.True(unlisted.Count == 0, $"{folder}: these files differ from {previous.Folder} but the README does not list them:\n  {string.Join("\n  ", unlisted)}");

        var unchanged = listed.Where(entry => !changed.Any(path => Covers(entry, path))).ToList();
        Assert.True(unchanged.Count == 0, $"{folder}: the README lists these paths as changed, but they are identical to {previous.Folder}:\n  {string.Join("\n  ", unchanged)}");

        // A folder entry stands for a new folder only; a changed file in an existing folder is listed by name.
        var foldersThatExisted = listed.Where(e => e.EndsWith('/') && before.Keys.Any(p => p.StartsWith(e, StringComparison.Ordinal))).ToList();
        Assert.True(foldersThatExisted.Count == 0, $"{folder}: list changed files of existing folders one by one: {string.Join(", ", foldersThatExisted)}");
    }

    /// <summary>
    /// The backticked paths of the README's "What changed" section: those ending in a '/' (a folder) or
    /// an extension, and Dockerfiles, which have none.
    /// </summary>
    public static List<string> ListedPaths(string readme)
    {
        var lines = readme.Replace("\r\n", "\n").Split('\n');
        var start = Array.FindIndex(lines, l => l.TrimEnd() == Section);
        Assert.True(start >= 0, $"the README has no '{Section}' section");
        var section = lines.Skip(start + 1).TakeWhile(l => !l.StartsWith("## ", StringComparison.Ordinal));
        return section.SelectMany(l => BacktickedPath().Matches(l).Select(m => m.Groups["path"].Value)).Distinct().ToList();
    }

    private static bool SameText(string a, string b) => File.ReadAllText(a) == File.ReadAllText(b);

    [GeneratedRegex(@"`(?<path>[\w.-]+(/[\w.-]*)*(/|\.\w+)|([\w.-]+/)+Dockerfile)`")]
    private static partial Regex BacktickedPath();
}
