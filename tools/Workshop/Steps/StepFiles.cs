namespace Workshop.Steps;

/// <summary>The files a step holds: everything but build output, test results and local databases.</summary>
public static class StepFiles
{
    private static readonly string[] SkippedFolders = ["bin", "obj", "data", "TestResults", ".vs"];
    private static readonly string[] SkippedEndings = [".db", ".db-wal", ".db-shm"];

    /// <summary>Relative path with '/' separators, to full path.</summary>
    public static Dictionary<string, string> Enumerate(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(root, f).Split(Path.DirectorySeparatorChar).Any(SkippedFolders.Contains))
            .Where(f => !SkippedEndings.Any(e => f.EndsWith(e, StringComparison.Ordinal)))
            .ToDictionary(f => Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'), f => f);
}
