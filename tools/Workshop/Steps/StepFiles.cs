namespace Workshop.Steps;

/// <summary>
/// The files a step holds: everything but build output, test results, local databases and the .env
/// file that moves this machine's ports.
/// </summary>
public static class StepFiles
{
    private static readonly string[] SkippedFolders = ["bin", "obj", "data", "TestResults", ".vs"];
    private static readonly string[] SkippedEndings = [".db", ".db-wal", ".db-shm"];
    private static readonly string[] SkippedFiles = [".env"];

    /// <summary>Relative path with '/' separators, to full path.</summary>
    public static Dictionary<string, string> Enumerate(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(root, f).Split(Path.DirectorySeparatorChar).Any(SkippedFolders.Contains))
            .Where(f => !SkippedEndings.Any(e => f.EndsWith(e, StringComparison.Ordinal)))
            .Where(f => !SkippedFiles.Contains(Path.GetFileName(f)))
            .ToDictionary(f => Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'), f => f);
}
