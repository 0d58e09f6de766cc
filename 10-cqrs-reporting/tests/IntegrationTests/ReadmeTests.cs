namespace IntegrationTests;

/// <summary>The README's "Try it" commands print what the README says, on a freshly started step.</summary>
public sealed class ReadmeTests
{
    [Fact]
    public async Task TryItCommands_PrintWhatTheReadmeShows()
    {
        // The step with its broker: the README reads what the events made of the writes.
        await using var step = await CqrsStep.StartAsync(apiKey: "workshop-dev-key");

        await ReadmeCheck.AssertTryItAsync(new Dictionary<int, Uri>
        {
            [8000] = step.Gateway.BaseAddress, [8001] = step.Users.BaseAddress, [8002] = step.Accounts.BaseAddress, [8003] = step.Reporting.BaseAddress,
        });
    }
}
