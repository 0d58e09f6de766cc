
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

        // The log lines the README quotes, as users wrote them while the commands broke and fixed accounts.
        var readme = File.ReadAllText(Path.Combine(StepPaths.StepDirectory, "README.md"));
        foreach (var line in new[]
        {
            "Circuit to accounts OPEN for 5 s after repeated failures (last: 500 InternalServerError): calls fail fast, without reaching accounts",
            "Circuit to accounts HALF-OPEN: the next call is a trial",
            "Circuit to accounts CLOSED: calls go through again",
        })
        {
            Assert.Contains($"`{line}`", readme);
            Assert.Single(step.Users.Log, logged => logged.EndsWith(line, StringComparison.Ordinal));
        }
    }
}
