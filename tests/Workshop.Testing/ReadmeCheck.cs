using System.Text.RegularExpressions;
using Workshop.Readme;

namespace Workshop.Testing;

/// <summary>
/// Runs the "Try it" commands of this step's README, in order, against services the test started,
/// with the same runner as `workshop check`. The documented ports (localhost:8001) are pointed at the
/// test's own ports.
/// </summary>
public static partial class ReadmeCheck
{
    public static Task AssertTryItAsync(IReadOnlyDictionary<int, ServiceProcess> servicesByDocumentedPort) =>
        AssertTryItAsync(servicesByDocumentedPort.ToDictionary(s => s.Key, s => s.Value.BaseAddress));

    /// <summary>The same, where a documented port is served by a stand-in (Consul's 8500) rather than a service.</summary>
    public static async Task AssertTryItAsync(IReadOnlyDictionary<int, Uri> addressesByDocumentedPort)
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(StepPaths.StepDirectory, "README.md"));
        var commands = TryItParser.Parse(readme);
        Assert.NotEmpty(commands);

        string Rewrite(string word) => DocumentedAddress().Replace(word, m =>
            addressesByDocumentedPort.TryGetValue(int.Parse(m.Groups["port"].Value), out var address)
                ? $"{address.Host}:{address.Port}"
                : m.Value);

        foreach (var command in commands)
        {
            var result = await TryItRunner.RunAsync(command, Rewrite, TestContext.Current.CancellationToken);
            Assert.True(result.Passed, $"""
                README Try it {command.Number} ("{command.Title}"): {result.Problem}
                command:  {command.Command}
                expected: {command.ExpectedOutput}
                actual:   {result.Output}
                """);
        }
    }

    [GeneratedRegex(@"localhost:(?<port>\d{4,5})")]
    private static partial Regex DocumentedAddress();
}
