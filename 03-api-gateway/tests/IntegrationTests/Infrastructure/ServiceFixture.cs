namespace IntegrationTests.Infrastructure;

/// <summary>One service process shared by the tests of a class, on its own empty database.</summary>
public abstract class ServiceFixture(string project) : IAsyncLifetime
{
    protected TempDirectory Data { get; } = new();

    public ServiceProcess Service { get; private set; } = null!;

    public HttpClient Client => Service.Client;

    public async ValueTask InitializeAsync()
    {
        var configuration = new Dictionary<string, string> { ["Database__Path"] = Data.File(project.ToLowerInvariant() + ".db") };
        await StartDependenciesAsync(configuration);
        Service = await ServiceProcess.StartAsync(project, configuration);
    }

    /// <summary>Starts what the service calls and adds its address to the service's configuration.</summary>
    protected virtual Task StartDependenciesAsync(Dictionary<string, string> configuration) => Task.CompletedTask;

    public virtual async ValueTask DisposeAsync()
    {
        await Service.DisposeAsync();
        Data.Dispose();
    }
}

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
