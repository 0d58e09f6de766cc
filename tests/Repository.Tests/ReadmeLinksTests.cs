using System.Text.RegularExpressions;

namespace Repository.Tests;

/// <summary>
/// The READMEs are the map: each step's links the previous step, the map and the next one under its
/// title, and no relative link of a README leads nowhere.
/// </summary>
public sealed partial class ReadmeLinksTests
{
    [Theory]
    [MemberData(nameof(Repo.StepFolders), MemberType = typeof(Repo))]
    public void EachStep_LinksThePreviousStep_TheMap_AndTheNextStep_UnderItsTitle(string folder)
    {
        var index = Repo.Steps.ToList().FindIndex(s => s.Folder == folder);
        var links = new List<string>();
        if (index > 0)
        {
            links.Add($"[← {Repo.Steps[index - 1].Folder}](../{Repo.Steps[index - 1].Folder}/README.md)");
        }

        links.Add("[all steps](../README.md)");
        if (index + 1 < Repo.Steps.Count)
        {
            links.Add($"[{Repo.Steps[index + 1].Folder} →](../{Repo.Steps[index + 1].Folder}/README.md)");
        }

        var lines = File.ReadAllLines(Repo.Step(folder).ReadmePath);
        Assert.StartsWith("# Step ", lines[0]);
        Assert.Equal(string.Join(" · ", links), lines[2]);
    }

    public static TheoryData<string> Readmes => new(
        Repo.Steps.Select(s => Path.Combine(s.Folder, "README.md")).Append("README.md").Append(Path.Combine("bench", "README.md")));

    [Theory]
    [MemberData(nameof(Readmes))]
    public void EveryRelativeLink_LeadsToAFileOrFolderThatExists(string readme)
    {
        var path = Path.Combine(Repo.Root, readme);
        var folder = Path.GetDirectoryName(path)!;
        var broken = MarkdownLink().Matches(File.ReadAllText(path))
            .Select(m => m.Groups["target"].Value)
            .Where(target => !target.Contains("://", StringComparison.Ordinal) && !target.StartsWith('#') && !target.StartsWith("mailto:", StringComparison.Ordinal))
            .Select(target => target.Split('#')[0])
            .Where(target => !File.Exists(Path.Combine(folder, target)) && !Directory.Exists(Path.Combine(folder, target)))
            .ToList();

        Assert.True(broken.Count == 0, $"{readme} links to what does not exist: {string.Join(", ", broken)}");
    }

    // [text](target), the target without spaces.
    [GeneratedRegex(@"\]\((?<target>[^)\s]+)\)")]
    private static partial Regex MarkdownLink();
}
