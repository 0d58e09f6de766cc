namespace IntegrationTests.Infrastructure;

/// <summary>One service process shared by the tests of a class, on its own empty database.</summary>
public abstract class ServiceFixture(string project) : IAsyncLifetime
{
    private readonly TempDirectory _data = new();

    public ServiceProcess Service { get; private set; } = null!;

    public HttpClient Client => Service.Client;

    public async ValueTask InitializeAsync() =>
        Service = await ServiceProcess.StartAsync(project, new Dictionary<string, string>
        {
            ["Database__Path"] = _data.File(project.ToLowerInvariant() + ".db"),
        });

    public async ValueTask DisposeAsync()
    {
        await Service.DisposeAsync();
        _data.Dispose();
    }
}

public sealed class UsersFixture() : ServiceFixture("Users");

public sealed class AccountsFixture() : ServiceFixture("Accounts");
