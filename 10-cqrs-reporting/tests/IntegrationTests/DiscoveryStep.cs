using Workshop.Testing.Consul;

namespace IntegrationTests;

/// <summary>
/// A Consul stand-in, accounts instances that register in it (sharing one database, as scaled
/// containers share a volume), users, which finds them through it, and, when a test asks, more users
/// instances and the gateway, which finds both through it. Consul's HTTP checks ask every second, so
/// that an unready or killed instance turns critical within seconds.
/// </summary>
public sealed class DiscoveryStep : IAsyncDisposable
{
    private readonly TempDirectory _data = new();
    private readonly List<ServiceProcess> _accounts = [];
    private readonly List<ServiceProcess> _moreUsers = [];

    private DiscoveryStep(ConsulStandIn consul) => Consul = consul;

    public ConsulStandIn Consul { get; }

    public ServiceProcess Users { get; private set; } = null!;

    public IReadOnlyList<ServiceProcess> Accounts => _accounts;

    public ServiceProcess? Gateway { get; private set; }

    /// <summary>A client of the gateway that sends the API key.</summary>
    public HttpClient GatewayClient { get; private set; } = null!;

    /// <summary>What every service gets: where Consul is, a check every second, a short drain on stop.</summary>
    public Dictionary<string, string> Common() => new()
    {
        ["Consul__Address"] = Consul.BaseAddress.ToString(),
        ["Consul__CheckInterval"] = "00:00:01",
        ["Consul__CheckTimeout"] = "00:00:01",
        ["Consul__DrainDelay"] = "00:00:01",
    };

    /// <summary>Starts users and <paramref name="accounts"/> accounts instances, with Consul up (or, given a stand-in not started, down).</summary>
    public static async Task<DiscoveryStep> StartAsync(int accounts, ConsulStandIn? consul = null)
    {
        var step = new DiscoveryStep(consul ?? await ConsulStandIn.StartAsync());
        try
        {
            for (var i = 0; i < accounts; i++)
            {
                await step.StartAccountsAsync();
            }

            step.Users = await step.StartUsersAsync();
            return step;
        }
        catch
        {
            await step.DisposeAsync();
            throw;
        }
    }

    public async Task<ServiceProcess> StartAccountsAsync(int port = 0)
    {
        var configuration = Common();
        configuration["Database__Path"] = _data.File("accounts.db");
        var instance = await ServiceProcess.StartAsync("Accounts", configuration, port);
        _accounts.Add(instance);
        // Its first query builds the database model: seconds on a busy machine, which users' 3 s
        // limit would count, and which readiness (a connection, no query) does not wait for.
        using var warm = await instance.Client.GetAsync("/accounts?userId=1");
        return instance;
    }

    /// <summary>Another users instance, sharing the first one's database.</summary>
    public async Task<ServiceProcess> StartAnotherUsersAsync()
    {
        var instance = await StartUsersAsync();
        _moreUsers.Add(instance);
        return instance;
    }

    private Task<ServiceProcess> StartUsersAsync()
    {
        var users = Common();
        users["Database__Path"] = _data.File("users.db");
        // While Consul names no accounts instance, users calls the first one.
        users["Services__accounts__http__0"] = _accounts[0].BaseAddress.ToString();
        return ServiceProcess.StartAsync("Users", users);
    }

    /// <summary>
    /// Starts the gateway, which finds users and accounts in Consul (or, while it names none, at the
    /// first instances). <paramref name="configuration"/> adds to or overrides its settings.
    /// </summary>
    public async Task<ServiceProcess> StartGatewayAsync(IReadOnlyDictionary<string, string>? configuration = null)
    {
        var gateway = Common();
        gateway["ApiKey__Keys__0"] = GatewayStep.TestApiKey;
        gateway["Services__users__http__0"] = Users.BaseAddress.ToString();
        gateway["Services__accounts__http__0"] = _accounts[0].BaseAddress.ToString();
        foreach (var (name, value) in configuration ?? new Dictionary<string, string>())
        {
            gateway[name] = value;
        }

        Gateway = await ServiceProcess.StartAsync("Gateway", gateway);
        GatewayClient = new HttpClient { BaseAddress = Gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        GatewayClient.DefaultRequestHeaders.Add("X-Api-Key", GatewayStep.TestApiKey);
        return Gateway;
    }

    /// <summary>The ID an instance registers with: service name, address and port.</summary>
    public static string IdOf(ServiceProcess instance) => $"{instance.Project.ToLowerInvariant()}-127.0.0.1-{instance.BaseAddress.Port}";

    /// <summary>Waits until Consul lists exactly these accounts instances as passing.</summary>
    public Task WaitForPassingAccountsAsync(params ServiceProcess[] instances) =>
        Consul.WaitUntilAsync(
            r => r.Passing("accounts").Select(s => s.Id).Order().SequenceEqual(instances.Select(IdOf).Order()),
            TimeSpan.FromSeconds(20));

    public async ValueTask DisposeAsync()
    {
        GatewayClient?.Dispose();
        if (Gateway is not null)
        {
            await Gateway.DisposeAsync();
        }

        foreach (var instance in _moreUsers)
        {
            await instance.DisposeAsync();
        }

        if (Users is not null)
        {
            await Users.DisposeAsync();
        }

        foreach (var instance in _accounts)
        {
            await instance.DisposeAsync();
        }

        await Consul.DisposeAsync();
        _data.Dispose();
    }
}
