namespace IntegrationTests;

/// <summary>users, and the accounts service it asks for balances.</summary>
public sealed class UsersFixture() : ServiceFixture("Users")
{
    public ServiceProcess Accounts { get; private set; } = null!;

    protected override async Task StartDependenciesAsync(Dictionary<string, string> configuration)
    {
        Accounts = await ServiceProcess.StartAsync("Accounts", new Dictionary<string, string> { ["Database__Path"] = Data.File("accounts.db") });
        configuration["AccountsClient__BaseAddress"] = Accounts.BaseAddress.ToString();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Accounts.DisposeAsync();
    }
}

public sealed class AccountsFixture() : ServiceFixture("Accounts");
