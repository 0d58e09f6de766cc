
namespace IntegrationTests;

/// <summary>The README's "Try it" commands print what the README says, on a freshly started step.</summary>
public sealed class ReadmeTests
{
    [Fact]
    public async Task TryItCommands_PrintWhatTheReadmeShows()
    {
        using var data = new TempDirectory();
        await using var accounts = await ServiceProcess.StartAsync("Accounts", new Dictionary<string, string> { ["Database__Path"] = data.File("accounts.db") });
        await using var users = await ServiceProcess.StartAsync("Users", new Dictionary<string, string>
        {
            ["Database__Path"] = data.File("users.db"),
            ["AccountsClient__BaseAddress"] = accounts.BaseAddress.ToString(),
        });

        await ReadmeCheck.AssertTryItAsync(new Dictionary<int, ServiceProcess> { [8001] = users, [8002] = accounts });
    }
}
