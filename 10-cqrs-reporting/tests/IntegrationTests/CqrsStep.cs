using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Workshop.Testing.Consul;
using Workshop.Testing.Otlp;
using Workshop.Testing.RabbitMq;

namespace IntegrationTests;

/// <summary>
/// The write side and the read side on free loopback ports: a real RabbitMQ (the installed broker, on
/// its own node and port), a Consul stand-in every service registers in, accounts and users publishing
/// through their outboxes, reporting consuming, and the gateway in front of all three. Reporting can be killed and started again on the same file.
/// </summary>
public sealed class CqrsStep : IAsyncDisposable
{
    public const string TestApiKey = "test-key-10cq";

    private readonly TempDirectory _data = new();
    private Dictionary<string, string> _reportingConfiguration = null!;

    public RabbitMqServer Broker { get; private set; } = null!;

    /// <summary>The Consul stand-in every service registers in.</summary>
    public ConsulStandIn Consul { get; private set; } = null!;

    public ServiceProcess Accounts { get; private set; } = null!;

    public ServiceProcess Users { get; private set; } = null!;

    public ServiceProcess Reporting { get; private set; } = null!;

    public ServiceProcess Gateway { get; private set; } = null!;

    /// <summary>A client of the gateway that sends the API key.</summary>
    public HttpClient Client { get; private set; } = null!;

    /// <summary>Starts the broker and the four services; with <paramref name="traces"/>, each exports its spans there.</summary>
    public static async Task<CqrsStep> StartAsync(OtlpStandIn? traces = null, string apiKey = TestApiKey)
    {
        var step = new CqrsStep();
        try
        {
            step.Broker = await RabbitMqServer.StartAsync();
            step.Consul = await ConsulStandIn.StartAsync();
            var common = new Dictionary<string, string>
            {
                ["Consul__Address"] = step.Consul.BaseAddress.ToString(),
                ["RabbitMq__Uri"] = step.Broker.AmqpUri.ToString(),
                // Reconnect quickly once the broker is back: the tests wait for it.
                ["RabbitMq__RetryDelay"] = "00:00:00.200",
            };
            if (traces is not null)
            {
                common["OTEL_EXPORTER_OTLP_ENDPOINT"] = traces.BaseAddress.ToString();
                common["OTEL_BSP_SCHEDULE_DELAY"] = "100";
            }

            Dictionary<string, string> With(Dictionary<string, string> own) => new(common.Concat(own));

            step.Accounts = await ServiceProcess.StartAsync("Accounts", With(new() { ["Database__Path"] = step._data.File("accounts.db") }));
            step.Users = await ServiceProcess.StartAsync("Users", With(new()
            {
                ["Database__Path"] = step._data.File("users.db"),
                ["Services__accounts__http__0"] = step.Accounts.BaseAddress.ToString(),
            }));
            step._reportingConfiguration = With(new() { ["Database__Path"] = step._data.File("reporting.db") });
            step.Reporting = await ServiceProcess.StartAsync("Reporting", step._reportingConfiguration);
            step.Gateway = await ServiceProcess.StartAsync("Gateway", With(new()
            {
                ["ApiKey__Keys__0"] = apiKey,
                ["Services__users__http__0"] = step.Users.BaseAddress.ToString(),
                ["Services__accounts__http__0"] = step.Accounts.BaseAddress.ToString(),
                ["Services__reporting__http__0"] = step.Reporting.BaseAddress.ToString(),
                ["ReverseProxy__Clusters__reporting__HealthCheck__Active__Enabled"] = "true",
            }));
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

    /// <summary>Starts reporting again, on the port and the file it had (after a kill).</summary>
    public async Task StartReportingAgainAsync()
    {
        var port = Reporting.BaseAddress.Port;
        await Reporting.DisposeAsync();
        Reporting = await ServiceProcess.StartAsync("Reporting", _reportingConfiguration, port);
    }

    public async Task<int> CreateUserAsync(string name, string email)
    {
        using var response = await Client.PostJsonAsync("/api/users/", new { name, email });
        return (await Json.ReadAsync(response, HttpStatusCode.Created)).GetProperty("id").GetInt32();
    }

    public async Task<int> OpenAccountAsync(int userId, decimal initialBalance)
    {
        using var response = await Client.PostJsonAsync($"/api/users/{userId}/accounts", new { initialBalance });
        return (await Json.ReadAsync(response, HttpStatusCode.Created)).GetProperty("id").GetInt32();
    }

    public async Task DepositAsync(int accountId, decimal amount)
    {
        using var response = await Client.PostJsonAsync($"/api/accounts/{accountId}/deposit", new { amount });
        await Json.ReadAsync(response, HttpStatusCode.OK);
    }

    /// <summary>
    /// Asks for the user's report until <paramref name="done"/> holds for it, within <paramref name="bound"/>;
    /// fails with the last report seen and reporting's log. Never sleeps longer than a poll.
    /// </summary>
    public async Task<JsonElement> WaitForReportAsync(int userId, Func<JsonElement, bool> done, TimeSpan bound)
    {
        var watch = Stopwatch.StartNew();
        var last = "(none yet)";
        while (watch.Elapsed < bound)
        {
            using var response = await Client.GetAsync($"/api/reports/users/{userId}");
            last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var report = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
                if (done(report))
                {
                    return report;
                }
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"The report of user {userId} was not as expected within {bound.TotalSeconds:0} s; last: {last}\n{Reporting.Tail()}");
    }

    /// <summary>The read model's summary: users, accounts, total balance, events applied.</summary>
    public async Task<JsonElement> SummaryAsync()
    {
        using var response = await Client.GetAsync("/api/reports/summary");
        return await Json.ReadAsync(response, HttpStatusCode.OK);
    }

    /// <summary>Waits until the read model has applied <paramref name="events"/> events; fails when it applied more.</summary>
    public async Task<JsonElement> WaitForEventsAppliedAsync(int events, TimeSpan bound)
    {
        var watch = Stopwatch.StartNew();
        JsonElement summary = default;
        while (watch.Elapsed < bound)
        {
            summary = await SummaryAsync();
            var applied = summary.GetProperty("eventsApplied").GetInt32();
            Assert.True(applied <= events, $"the read model applied {applied} events, more than the {events} written: {summary}");
            if (applied == events)
            {
                return summary;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"The read model did not apply {events} events within {bound.TotalSeconds:0} s; last: {summary}\n{Reporting.Tail()}");
    }

    /// <summary>The value of a metric without labels on a service's /metrics (0 when absent).</summary>
    public static async Task<double> MetricAsync(ServiceProcess service, string name)
    {
        var text = await service.Client.GetStringAsync("/metrics");
        var match = Regex.Match(text, $@"^{Regex.Escape(name)} (\S+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        foreach (var service in new[] { Gateway, Reporting, Users, Accounts }.Where(s => s is not null))
        {
            await service.DisposeAsync();
        }

        if (Broker is not null)
        {
            await Broker.DisposeAsync();
        }

        if (Consul is not null)
        {
            await Consul.DisposeAsync();
        }

        _data.Dispose();
    }
}
