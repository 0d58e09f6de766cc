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

        // The README asks Prometheus: the step's, scraping these services.
        await using var prometheus = await MonitoringTests.StartPrometheusAsync(step);

        await ReadmeCheck.AssertTryItAsync(new Dictionary<int, Uri>
        {
            [8000] = step.Gateway.BaseAddress, [8001] = step.Users.BaseAddress, [8002] = step.Accounts.BaseAddress, [8500] = step.Consul.BaseAddress,
            [9090] = prometheus.BaseAddress,
        });
    }
}
