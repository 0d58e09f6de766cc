namespace Repository.Tests;

/// <summary>Programs some repository tests need that the workshop itself does not (nginx, wrk, curl).</summary>
public static class Tools
{
    /// <summary>Where Debian installs nginx: not on every user's PATH.</summary>
    public static readonly string[] SystemFolders = ["/usr/sbin", "/sbin"];

    /// <summary>
    /// Skips the test, naming what to install, when a program is missing. CI installs them (.ci/run),
    /// so there a missing one fails the test instead of skipping it.
    /// </summary>
    public static void Require(string install, params string[] programs)
    {
        var missing = programs.Where(p => !Installed(p)).ToList();
        if (missing.Count == 0)
        {
            return;
        }

        var message = $"this test needs {string.Join(", ", missing)} ({install})";
        Assert.False(Environment.GetEnvironmentVariable("CI") is "true" or "1", message);
        Assert.Skip(message);
    }

    /// <summary>The PATH with the system folders added, so that programs started with it find nginx.</summary>
    public static string PathWithSystemFolders() =>
        string.Join(Path.PathSeparator, new[] { Environment.GetEnvironmentVariable("PATH") ?? "" }.Concat(SystemFolders));

    private static bool Installed(string program) =>
        PathWithSystemFolders().Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, program)));
}
