using System.Diagnostics;

namespace Workshop.Testing.Prometheus;

/// <summary>
/// Prometheus's own checker, from the installed package (Debian's <c>prometheus</c>, which .ci/run
/// installs): <c>check metrics</c>, <c>check config</c>, <c>check rules</c>, <c>test rules</c>.
/// Where it is not installed the test is skipped, naming the package; on CI it fails instead.
/// </summary>
public static class Promtool
{
    public const string Install = "apt-get install prometheus";

    /// <summary>Skips (or, on CI, fails) the test unless prometheus and promtool are installed.</summary>
    public static void Require()
    {
        var missing = new[] { "prometheus", "promtool" }.Where(p => Find(p) is null).ToList();
        if (missing.Count == 0)
        {
            return;
        }

        var message = $"this test needs {string.Join(" and ", missing)} ({Install})";
        Assert.False(Environment.GetEnvironmentVariable("CI") is "true" or "1", message);
        Assert.Skip(message);
    }

    /// <summary>The program's path, from PATH; null when it is not installed.</summary>
    public static string? Find(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    /// <summary><c>promtool check metrics</c> on a scrape's text: the exit code and what it said (lint findings included).</summary>
    public static Task<PromtoolResult> CheckMetricsAsync(string exposition) => RunAsync(null, exposition, "check", "metrics");

    public static Task<PromtoolResult> CheckConfigAsync(string configFile) =>
        RunAsync(Path.GetDirectoryName(configFile), null, "check", "config", Path.GetFileName(configFile));

    public static Task<PromtoolResult> CheckRulesAsync(string rulesFile) =>
        RunAsync(Path.GetDirectoryName(rulesFile), null, "check", "rules", Path.GetFileName(rulesFile));

    /// <summary><c>promtool test rules</c>, run in the test file's folder as its rule_files are relative to it.</summary>
    public static Task<PromtoolResult> TestRulesAsync(string testFile) =>
        RunAsync(Path.GetDirectoryName(testFile), null, "test", "rules", Path.GetFileName(testFile));

    private static async Task<PromtoolResult> RunAsync(string? directory, string? input, params string[] args)
    {
        var start = new ProcessStartInfo(Find("promtool") ?? throw new InvalidOperationException($"promtool is not installed ({Install})"))
        {
            RedirectStandardInput = input is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory ?? Environment.CurrentDirectory,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return new PromtoolResult(process.ExitCode, await output + await errors);
    }
}

/// <param name="ExitCode">0: accepted. check metrics: 3 for lint findings, 1 for text it cannot parse.</param>
public sealed record PromtoolResult(int ExitCode, string Output)
{
    public override string ToString() => $"promtool exited with {ExitCode}:\n{Output}";
}
