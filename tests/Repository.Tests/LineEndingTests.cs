namespace Repository.Tests;

/// <summary>
/// A clone made by Git for Windows turns LF into CRLF unless the repository says otherwise, and bash
/// stops at the first CR ("bash\r: No such file or directory"), as WSL and Git Bash users would see.
/// .gitattributes says otherwise: LF for every file, CRLF for cmd.exe's scripts.
/// </summary>
public sealed class LineEndingTests
{
    [Fact]
    public async Task Clones_CheckOutScriptsWithTheLineEndingsTheirShellNeeds()
    {
        ProgramResult files;
        try
        {
            files = await Shell.RunAsync("git", ["ls-files", "--eol"], TimeSpan.FromMinutes(1));
        }
        catch (System.ComponentModel.Win32Exception) when (Environment.GetEnvironmentVariable("CI") is null)
        {
            Assert.Skip("git is not installed");
            return;
        }

        if (files.ExitCode != 0 && Environment.GetEnvironmentVariable("CI") is null)
        {
            Assert.Skip($"the repository is not a git clone here: {files.Errors.Trim()}");
        }

        // Each line: "i/lf    w/lf    attr/text=auto eol=lf \tpath" (index, work tree, attributes).
        var entries = files.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('\t', 2))
            .ToDictionary(parts => parts[1], parts => parts[0]);
        var bashScripts = entries.Keys.Where(IsBashScript).ToList();
        Assert.Contains("workshop", bashScripts);
        Assert.Contains(".ci/run", bashScripts);

        foreach (var script in bashScripts)
        {
            Assert.Contains("eol=lf", entries[script]);
            Assert.DoesNotContain("w/crlf", entries[script]);
        }

        var cmdScripts = entries.Keys.Where(path => path.EndsWith(".cmd", StringComparison.Ordinal)).ToList();
        Assert.Contains("workshop.cmd", cmdScripts);
        foreach (var script in cmdScripts)
        {
            Assert.Contains("eol=crlf", entries[script]);
        }
    }

    private static bool IsBashScript(string path)
    {
        if (path.EndsWith(".sh", StringComparison.Ordinal))
        {
            return true;
        }

        using var reader = new StreamReader(Path.Combine(Repo.Root, path));
        var first = reader.ReadLine() ?? "";
        return first.StartsWith("#!", StringComparison.Ordinal) && first.Contains("sh", StringComparison.Ordinal);
    }
}
