namespace Workshop.Testing;

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
