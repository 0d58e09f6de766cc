
namespace IntegrationTests;

/// <summary>The README's "Try it" commands print what the README says, on a freshly started step.</summary>
public sealed class ReadmeTests
{
    [Fact]
    public async Task TryItCommands_PrintWhatTheReadmeShows()
    {
        using var data = new TempDirectory();
        await using var users = await ServiceProcess.StartAsync("Users", new Dictionary<string, string> { ["Database__Path"] = data.File("users.db") });
        await using var accounts = await ServiceProcess.StartAsync("Accounts", new Dictionary<string, string> { ["Database__Path"] = data.File("accounts.db") });

        await ReadmeCheck.AssertTryItAsync(new Dictionary<int, ServiceProcess> { [8001] = users, [8002] = accounts });
    }
}
