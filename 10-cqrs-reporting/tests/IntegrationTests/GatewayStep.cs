using Workshop.Testing.Consul;

namespace IntegrationTests;

/// <summary>
/// The whole step on free loopback ports: a Consul stand-in every service registers in, accounts,
/// users calling it, and the gateway in front of both, finding them through Consul. A stand-in
/// address can replace either service behind the gateway.
/// </summary>
public sealed class GatewayStep : IAsyncDisposable
{
    public const string TestApiKey = "test-key-5d1c";

    private readonly TempDirectory _data = new();

    public ConsulStandIn Consul { get; private set; } = null!;

    public ServiceProcess Accounts { get; private set; } = null!;

    public ServiceProcess Users { get; private set; } = null!;

    public ServiceProcess Gateway { get; private set; } = null!;

    /// <summary>A client of the gateway that sends the API key.</summary>
    public HttpClient Client { get; private set; } = null!;

    /// <summary>Starts the three services; <paramref name="environment"/> goes to each of them.</summary>
    public static async Task<GatewayStep> StartAsync(
        string apiKey = TestApiKey, Uri? usersAddress = null, Uri? accountsAddress = null, string? overviewTimeout = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var step = new GatewayStep();
        Dictionary<string, string> With(Dictionary<string, string> configuration)
        {
            foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            {
                configuration[name] = value;
            }

            return configuration;
        }

        try
        {
            step.Consul = await ConsulStandIn.StartAsync();
            environment = new Dictionary<string, string>(environment ?? new Dictionary<string, string>())
            {
                ["Consul__Address"] = step.Consul.BaseAddress.ToString(),
            };
            step.Accounts = await ServiceProcess.StartAsync("Accounts", With(new() { ["Database__Path"] = step._data.File("accounts.db") }));
            step.Users = await ServiceProcess.StartAsync("Users", With(new()
            {
                ["Database__Path"] = step._data.File("users.db"),
                // Users finds accounts through Consul; this address only while Consul names none.
                ["Services__accounts__http__0"] = step.Accounts.BaseAddress.ToString(),
            }));

            var gateway = new Dictionary<string, string>
            {
                ["ApiKey__Keys__0"] = apiKey,
                // The gateway finds users and accounts through Consul; these addresses only while Consul names none.
                ["Services__users__http__0"] = step.Users.BaseAddress.ToString(),
                ["Services__accounts__http__0"] = step.Accounts.BaseAddress.ToString(),
            };
            // A stand-in in place of a service: an address where the cluster names a service, used as it
            // is; and no probes of its /health/ready, which the stand-in would count among its requests.
            if (usersAddress is not null)
            {
                gateway["ReverseProxy__Clusters__users__Destinations__primary__Address"] = usersAddress.ToString();
                gateway["ReverseProxy__Clusters__users__HealthCheck__Active__Enabled"] = "false";
            }

            if (accountsAddress is not null)
            {
                gateway["ReverseProxy__Clusters__accounts__Destinations__primary__Address"] = accountsAddress.ToString();
                gateway["ReverseProxy__Clusters__accounts__HealthCheck__Active__Enabled"] = "false";
            }
            if (overviewTimeout is not null)
            {
                gateway["Overview__Timeout"] = overviewTimeout;
            }

            step.Gateway = await ServiceProcess.StartAsync("Gateway", With(gateway));
            step.Client = new HttpClient { BaseAddress = step.Gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            step.Client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
            return step;
        }
        catch
        {
            await step.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        foreach (var service in new[] { Gateway, Users, Accounts }.Where(s => s is not null))
        {
            await service.DisposeAsync();
        }

        if (Consul is not null)
        {
            await Consul.DisposeAsync();
        }

        _data.Dispose();
    }
}
