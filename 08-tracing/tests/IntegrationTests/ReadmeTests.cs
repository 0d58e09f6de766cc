using System.Text.RegularExpressions;

namespace IntegrationTests;

/// <summary>The README's "Try it" commands print what the README says, on a freshly started step.</summary>
public sealed class ReadmeTests
{
    [Fact]
    public async Task TryItCommands_PrintWhatTheReadmeShows()
    {
        await using var step = await GatewayStep.StartAsync(apiKey: "workshop-dev-key");

        // Every service is registered before the first command asks Consul.
        await step.Consul.WaitUntilAsync(r => new[] { "accounts", "users", "gateway" }.All(name => r.Passing(name).Count == 1), TimeSpan.FromSeconds(20));

        await ReadmeCheck.AssertTryItAsync(new Dictionary<int, Uri>
        {
            [8000] = step.Gateway.BaseAddress, [8001] = step.Users.BaseAddress, [8002] = step.Accounts.BaseAddress, [8500] = step.Consul.BaseAddress,
        });

        // The log lines the README quotes, as users wrote them: one with the ids of its trace and span
        // (any ids), and, since these services export to no collector, the one that says so, once.
        var readme = File.ReadAllText(Path.Combine(StepPaths.StepDirectory, "README.md"));
        var withIds = Quoted(readme, "[trace ");
        var idsPattern = "^" + Regex.Escape(withIds)
            .Replace("4bf92f3577b34da6a3ce929d0e0e4736", "[0-9a-f]{32}", StringComparison.Ordinal)
            .Replace("00f067aa0ba902b7", "[0-9a-f]{16}", StringComparison.Ordinal) + "$";
        Assert.True(step.Users.Log.Any(logged => Regex.IsMatch(StripTime(logged), idsPattern)), $"no line of users' log matches {idsPattern}:\n{string.Join("\n", step.Users.Log)}");

        var notExported = Quoted(readme, "Traces are not exported");
        var parts = notExported.Split(["http://localhost:4318", "(...)"], StringSplitOptions.None);
        var notExportedPattern = string.Join(".+", parts.Select(Regex.Escape)) + "$";
        await step.Users.WaitForLogAsync("Traces are not exported", TimeSpan.FromSeconds(15));
        Assert.Single(step.Users.Log, logged => Regex.IsMatch(logged, notExportedPattern));
    }

    /// <summary>The README's backticked log line that contains <paramref name="text"/>.</summary>
    private static string Quoted(string readme, string text) =>
        Assert.Single(Regex.Matches(readme, "`([^`\n]+)`").Select(m => m.Groups[1].Value).Where(q => q.Contains(text, StringComparison.Ordinal)).Distinct());

    /// <summary>A log line without its time stamp ("12:00:01 ").</summary>
    private static string StripTime(string line) => Regex.Replace(line, "^[0-9]{2}:[0-9]{2}:[0-9]{2} ", "");
}
