using System.Text.RegularExpressions;

namespace Workshop.Steps;

/// <summary>A step folder: "03-api-gateway" is number 3, name "api-gateway".</summary>
public sealed record Step(int Number, string Folder, string Title, string Directory)
{
    public string ReadmePath => Path.Combine(Directory, "README.md");
    public string ComposePath => Path.Combine(Directory, "docker-compose.yml");
    public string SolutionPath => Path.Combine(Directory, "Workshop.slnx");
}

/// <summary>Finds the step folders at the root of the repository.</summary>
public static partial class StepCatalog
{
    public static IReadOnlyList<Step> Load(string root) =>
        System.IO.Directory.GetDirectories(root)
            .Select(dir => (dir, match: StepFolder().Match(Path.GetFileName(dir))))
            .Where(x => x.match.Success && File.Exists(Path.Combine(x.dir, "Workshop.slnx")))
            .Select(x => new Step(int.Parse(x.match.Groups["n"].Value), Path.GetFileName(x.dir), ReadTitle(x.dir), x.dir))
            .OrderBy(s => s.Number)
            .ToList();

    /// <summary>Accepts "3", "03" or "03-api-gateway".</summary>
    public static Step? Find(IReadOnlyList<Step> steps, string name)
    {
        var match = StepArgument().Match(name);
        if (!match.Success)
        {
            return null;
        }

        var number = int.Parse(match.Groups["n"].Value);
        var step = steps.FirstOrDefault(s => s.Number == number);
        return step is not null && (!match.Groups["rest"].Success || step.Folder == name) ? step : null;
    }

    /// <summary>"step 03", or "steps 01, 02": the numbers of the steps, for messages.</summary>
    public static string Numbers(IEnumerable<Step> steps)
    {
        var numbers = steps.Select(step => step.Folder[..2]).Distinct().ToList();
        return (numbers.Count == 1 ? "step " : "steps ") + string.Join(", ", numbers);
    }

    /// <summary>
    /// The folder holding the step folders: WORKSHOP_ROOT when set, else found upwards from the current
    /// directory or from the tool's own location.
    /// </summary>
    public static string FindRoot()
    {
        if (Environment.GetEnvironmentVariable("WORKSHOP_ROOT") is { Length: > 0 } configured)
        {
            return System.IO.Directory.Exists(configured) ? Path.GetFullPath(configured) : throw new UserError($"WORKSHOP_ROOT names no folder: {configured}");
        }

        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Directory.Packages.props")) && System.IO.Directory.Exists(Path.Combine(dir.FullName, "tools", "Workshop")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new UserError("cannot find the workshop folder: run the command from inside the cloned repository");
    }

    private static string ReadTitle(string dir)
    {
        var readme = Path.Combine(dir, "README.md");
        if (!File.Exists(readme))
        {
            return Path.GetFileName(dir);
        }

        var heading = File.ReadLines(readme).FirstOrDefault(l => l.StartsWith("# ", StringComparison.Ordinal));
        return heading is null ? Path.GetFileName(dir) : StepHeadingPrefix().Replace(heading[2..].Trim(), "");
    }

    [GeneratedRegex(@"^(?<n>\d\d)-[a-z0-9-]+$")]
    private static partial Regex StepFolder();

    [GeneratedRegex(@"^(?<n>\d{1,2})(?<rest>-[a-z0-9-]+)?$")]
    private static partial Regex StepArgument();

    [GeneratedRegex(@"^Step \d+:\s*")]
    private static partial Regex StepHeadingPrefix();
}

/// <summary>A problem the user can fix: printed as one line, exit code 1, no stack trace.</summary>
public sealed class UserError(string message) : Exception(message);
