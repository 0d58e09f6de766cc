
namespace IntegrationTests;

/// <summary>The README's "Try it" commands print what the README says, on a freshly started step.</summary>
public sealed class ReadmeTests
{
    [Fact]
    public async Task TryItCommands_PrintWhatTheReadmeShows()
    {
        await using var step = await GatewayStep.StartAsync(apiKey: "workshop-dev-key");

        await ReadmeCheck.AssertTryItAsync(new Dictionary<int, ServiceProcess> { [8000] = step.Gateway, [8001] = step.Users, [8002] = step.Accounts });
    }
}
