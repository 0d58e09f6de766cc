namespace Repository.Tests;

/// <summary>
/// The scripts attendees start (./workshop, workshop.cmd) and CI's and the benchmark's, as a clone
/// checks them out: what git records decides, on every machine that clones.
/// </summary>
public sealed class ScriptTests
{
    /// <summary>
    /// A clone made by Git for Windows turns LF into CRLF unless the repository says otherwise, and
    /// bash stops at the first CR ("bash\r: No such file or directory"), as WSL and Git Bash users
    /// would see. .gitattributes says otherwise: LF for every file, CRLF for cmd.exe's scripts.
    /// </summary>
    [Fact]
    public async Task Clones_CheckOutScriptsWithTheLineEndingsTheirShellNeeds()
    {
        // Each line: "i/lf    w/lf    attr/text=auto eol=lf \tpath" (index, work tree, attributes).
        var entries = await GitFilesAsync("--eol");
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

    /// <summary>The Windows launchers tell the tool their name, for the commands its messages suggest.</summary>
    [Theory]
    [InlineData("workshop.cmd", "set \"WORKSHOP_COMMAND=workshop.cmd\"")]
    [InlineData("workshop.ps1", "$env:WORKSHOP_COMMAND = './workshop.ps1'")]
    public void WindowsLaunchers_NameThemselvesToTheTool(string launcher, string line) =>
        Assert.Contains(line, File.ReadAllLines(Path.Combine(Repo.Root, launcher)).Select(l => l.Trim()));

    /// <summary>`./workshop` on macOS and Linux runs only if git checks it out executable.</summary>
    [Fact]
    public async Task Clones_CheckOutBashScriptsExecutable()
    {
        // Each line: "100755 <object> 0\tpath".
        var entries = await GitFilesAsync("--stage");
        var bashScripts = entries.Keys.Where(IsBashScript).ToList();
        Assert.Contains("workshop", bashScripts);
        foreach (var script in bashScripts)
        {
            Assert.True(entries[script].StartsWith("100755", StringComparison.Ordinal), $"{script} is not executable in git (git update-index --chmod=+x {script})");
        }
    }

    /// <summary>`git ls-files` with the option given: path to what git says of it.</summary>
    private static async Task<Dictionary<string, string>> GitFilesAsync(string option)
    {
        ProgramResult files;
        try
        {
            files = await Shell.RunAsync("git", ["ls-files", option], TimeSpan.FromMinutes(1));
        }
        catch (System.ComponentModel.Win32Exception) when (Environment.GetEnvironmentVariable("CI") is null)
        {
            Assert.Skip("git is not installed");
            throw;
        }

        if (files.ExitCode != 0 && Environment.GetEnvironmentVariable("CI") is null)
        {
            Assert.Skip($"the repository is not a git clone here: {files.Errors.Trim()}");
        }

        Assert.True(files.ExitCode == 0, $"git ls-files {option}: {files.Errors}");
        return files.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('\t', 2))
            .ToDictionary(parts => parts[1], parts => parts[0]);
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
