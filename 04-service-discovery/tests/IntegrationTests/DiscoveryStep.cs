using Workshop.Testing.Consul;

namespace IntegrationTests;

/// <summary>
/// A Consul stand-in, accounts instances that register in it (sharing one database, as scaled
/// containers share a volume), and users, which finds them through it. Short TTLs, so that a killed
/// instance turns critical within seconds.
/// </summary>
public sealed class DiscoveryStep : IAsyncDisposable
{
    private readonly TempDirectory _data = new();
    private readonly List<ServiceProcess> _accounts = [];

    private DiscoveryStep(ConsulStandIn consul) => Consul = consul;

    public ConsulStandIn Consul { get; }

    public ServiceProcess Users { get; private set; } = null!;

    public IReadOnlyList<ServiceProcess> Accounts => _accounts;

    /// <summary>What every service gets: where Consul is, a short TTL, a short drain on stop.</summary>
    public Dictionary<string, string> Common() => new()
    {
        ["Consul__Address"] = Consul.BaseAddress.ToString(),
        ["Consul__CheckTtl"] = "00:00:03",
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

            var users = step.Common();
            users["Database__Path"] = step._data.File("users.db");
            // While Consul names no accounts instance, users calls the first one.
            users["Services__accounts__http__0"] = step._accounts[0].BaseAddress.ToString();
            step.Users = await ServiceProcess.StartAsync("Users", users);
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
        // limit would count. A caller should not pay for a cold instance (step 06's readiness).
        using var warm = await instance.Client.GetAsync("/accounts?userId=1");
        return instance;
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
