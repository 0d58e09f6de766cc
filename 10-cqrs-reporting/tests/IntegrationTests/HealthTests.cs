using System.Net;
using System.Net.Http.Json;
using Workshop.Testing.Consul;

namespace IntegrationTests;

/// <summary>
/// Step 06's lesson: /health/live and /health/ready mean something, and Consul, the gateway and users
/// route by readiness. An instance whose database goes away turns unready, loses its traffic, keeps
/// its data, and gets its traffic back once the database returns.
/// </summary>
[Lesson("06-health-check-api")]
public sealed class HealthTests
{
    [Fact]
    public async Task Readiness_ListsEachCheck_WithStatusAndDuration_AndLivenessRunsNone()
    {
        await using var step = await DiscoveryStep.StartAsync(accounts: 1);
        var accounts = step.Accounts[0];

        using var ready = await accounts.Client.GetAsync("/health/ready");
        var body = await Json.ReadAsync(ready, HttpStatusCode.OK);
        Assert.Equal("Healthy", body.GetProperty("status").GetString());
        var check = Assert.Single(body.GetProperty("checks").EnumerateArray());
        Assert.Equal(("database", "Healthy"), (check.GetProperty("name").GetString(), check.GetProperty("status").GetString()));
        Assert.InRange(check.GetProperty("durationMs").GetDouble(), 0, 2000);
        Assert.False(check.TryGetProperty("description", out _));
        Assert.Equal("no-store, no-cache", ready.Headers.CacheControl?.ToString());

        using var live = await accounts.Client.GetAsync("/health/live");
        var liveBody = await Json.ReadAsync(live, HttpStatusCode.OK);
        Assert.Equal("Healthy", liveBody.GetProperty("status").GetString());
        Assert.Empty(liveBody.GetProperty("checks").EnumerateArray());

        // Users' readiness is its own database only: accounts is another service, not its dependency.
        using var usersReady = await step.Users.Client.GetAsync("/health/ready");
        var usersChecks = (await Json.ReadAsync(usersReady, HttpStatusCode.OK)).GetProperty("checks");
        Assert.Equal(["database"], usersChecks.EnumerateArray().Select(c => c.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task DatabaseSwitchedOff_InstanceIsUnreadyButLive_Answers503_AndLosesNoData()
    {
        await using var step = await DiscoveryStep.StartAsync(accounts: 1);
        var accounts = step.Accounts[0];
        using var opened = await accounts.Client.PostAsJsonAsync("/accounts", new { userId = 7, initialBalance = 40 });
        var accountId = (await Json.ReadAsync(opened, HttpStatusCode.Created)).GetProperty("id").GetInt32();

        await SwitchDatabaseAsync(accounts, available: false);
        await accounts.WaitForLogAsync("The accounts database is switched off (PUT /admin/database)", TimeSpan.FromSeconds(5));

        using (var ready = await accounts.Client.GetAsync("/health/ready"))
        {
            var body = await Json.ReadAsync(ready, HttpStatusCode.ServiceUnavailable);
            Assert.Equal("Unhealthy", body.GetProperty("status").GetString());
            var check = Assert.Single(body.GetProperty("checks").EnumerateArray());
            Assert.Equal("Unhealthy", check.GetProperty("status").GetString());
            Assert.Contains("The accounts database is unavailable", check.GetProperty("description").GetString());
        }

        using (var live = await accounts.Client.GetAsync("/health/live"))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }

        const string Unavailable = "The accounts database is unavailable; this instance is not ready (GET /health/ready).";
        using (var read = await accounts.Client.GetAsync($"/accounts/{accountId}"))
        {
            await Problem.AssertDetailAsync(read, HttpStatusCode.ServiceUnavailable, Unavailable);
        }

        using (var write = await accounts.Client.PostAsJsonAsync($"/accounts/{accountId}/deposit", new { amount = 5 }))
        {
            await Problem.AssertDetailAsync(write, HttpStatusCode.ServiceUnavailable, Unavailable);
        }

        using (var create = await accounts.Client.PostAsJsonAsync("/accounts", new { userId = 7, initialBalance = 1 }))
        {
            await Problem.AssertDetailAsync(create, HttpStatusCode.ServiceUnavailable, Unavailable);
        }

        await SwitchDatabaseAsync(accounts, available: true);
        using (var ready = await accounts.Client.GetAsync("/health/ready"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        // What was stored is there, and nothing tried while it was off was stored.
        using var list = await accounts.Client.GetAsync("/accounts?userId=7");
        var stored = (await Json.ReadAsync(list, HttpStatusCode.OK)).EnumerateArray().ToList();
        var only = Assert.Single(stored);
        Assert.Equal(40m, only.GetProperty("balance").GetDecimal());
        Assert.Single(accounts.Log, l => l.Contains("The accounts database is switched on again", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("{}", "available")]
    [InlineData("""{"available":"no"}""", "available")]
    [InlineData("""{"available":null}""", "available")]
    [InlineData("""{"availble":false}""", "availble")]
    [InlineData("off", "body")]
    public async Task DatabaseSwitch_RefusesWhatItCannotRead_NamingTheField(string body, string field)
    {
        await using var step = await DiscoveryStep.StartAsync(accounts: 1);
        var accounts = step.Accounts[0];

        using var response = await accounts.Client.PutAsync("/admin/database", Json.Body(body));

        var problem = await Json.ReadAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        using var state = await accounts.Client.GetAsync("/admin/database");
        Assert.True((await Json.ReadAsync(state, HttpStatusCode.OK)).GetProperty("available").GetBoolean());
    }

    [Fact]
    public async Task ReadyTimeoutOutOfRange_IsRefusedAtStart_NamingTheSetting()
    {
        using var data = new TempDirectory();
        var reported = await ServiceProcess.AssertRefusesToStartAsync("Accounts", new Dictionary<string, string>
        {
            ["Database__Path"] = data.File("accounts.db"),
            ["Database__ReadyTimeout"] = "00:05:00",
        });

        Assert.Contains("Database:ReadyTimeout must be between 00:00:00.100 and 00:00:30, such as 00:00:02.", reported);
    }

    [Fact]
    public async Task UnreadyInstance_LeavesConsulTheGatewayAndUsers_AndComesBackWhenMended()
    {
        await using var step = await DiscoveryStep.StartAsync(accounts: 2);
        await step.WaitForPassingAccountsAsync([.. step.Accounts]);
        await step.StartGatewayAsync();
        var (userId, accountId) = await CreateUserWithAccountAsync(step);
        var (broken, kept) = (step.Accounts[0], step.Accounts[1]);
        await GatewayAnsweredByAsync(step, $"/api/accounts/{accountId}", "X-Instance", [broken, kept]);

        await SwitchDatabaseAsync(broken, available: false);

        // Consul's probe finds it unready: critical, with what /health/ready answered.
        await step.WaitForPassingAccountsAsync(kept);
        var check = step.Consul.Registry.Find(DiscoveryStep.IdOf(broken))!.Checks.Single();
        Assert.Equal(CheckStatus.Critical, check.Status);
        Assert.Contains(": 503 Service Unavailable Output: {\"status\":\"Unhealthy\"", check.Output, StringComparison.Ordinal);

        // Once the gateway and users have moved: every answer a 200, every one from the other instance.
        await GatewayAnsweredByAsync(step, $"/api/accounts/{accountId}", "X-Instance", [kept]);
        await GatewayAnsweredByAsync(step, $"/api/users/{userId}", "X-Accounts-Instance", [kept]);
        using (var overview = await step.GatewayClient.GetAsync($"/api/overview/{userId}"))
        {
            Assert.Equal(HttpStatusCode.OK, overview.StatusCode);
        }

        // The broken instance is alive all along: Consul keeps it (critical), nothing restarts it.
        using (var live = await broken.Client.GetAsync("/health/live"))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }

        await SwitchDatabaseAsync(broken, available: true);
        await step.WaitForPassingAccountsAsync(broken, kept);
        await GatewayAnsweredByAsync(step, $"/api/accounts/{accountId}", "X-Instance", [broken, kept]);
        await GatewayAnsweredByAsync(step, $"/api/users/{userId}", "X-Accounts-Instance", [broken, kept]);
    }

    [Fact]
    public async Task GatewaysOwnActiveChecks_TakeAnUnreadyInstanceOut_WhileConsulCannotSay()
    {
        await using var step = await DiscoveryStep.StartAsync(accounts: 2);
        await step.WaitForPassingAccountsAsync([.. step.Accounts]);
        await step.StartGatewayAsync(new Dictionary<string, string>
        {
            ["ReverseProxy__Clusters__accounts__HealthCheck__Active__Interval"] = "00:00:01",
        });
        var (_, accountId) = await CreateUserWithAccountAsync(step);
        var (broken, kept) = (step.Accounts[0], step.Accounts[1]);
        await GatewayAnsweredByAsync(step, $"/api/accounts/{accountId}", "X-Instance", [broken, kept]);

        // Consul answers nothing but errors: the gateway's list from Consul stays as it was.
        step.Consul.Fault = ConsulFault.ServerError;
        step.Consul.ResetIndex();
        await step.Gateway!.WaitForLogAsync("cannot tell where accounts is", TimeSpan.FromSeconds(10));

        await SwitchDatabaseAsync(broken, available: false);
        await GatewayAnsweredByAsync(step, $"/api/accounts/{accountId}", "X-Instance", [kept]);

        await SwitchDatabaseAsync(broken, available: true);
        await GatewayAnsweredByAsync(step, $"/api/accounts/{accountId}", "X-Instance", [broken, kept]);
    }

    [Fact]
    public async Task GatewaysPassiveChecks_TakeOutAnInstanceItsRequestsCannotReach()
    {
        await using var step = await DiscoveryStep.StartAsync(accounts: 2);
        await step.WaitForPassingAccountsAsync([.. step.Accounts]);
        // The active checks as good as off, and Consul failing: only failed requests can tell the gateway.
        await step.StartGatewayAsync(new Dictionary<string, string>
        {
            ["ReverseProxy__Clusters__accounts__HealthCheck__Active__Interval"] = "00:10:00",
        });
        var (_, accountId) = await CreateUserWithAccountAsync(step);
        var (killed, kept) = (step.Accounts[0], step.Accounts[1]);
        await GatewayAnsweredByAsync(step, $"/api/accounts/{accountId}", "X-Instance", [killed, kept]);
        step.Consul.Fault = ConsulFault.ServerError;
        step.Consul.ResetIndex();
        await step.Gateway!.WaitForLogAsync("cannot tell where accounts is", TimeSpan.FromSeconds(10));

        await killed.KillAsync();

        // Round robin sends every other request to the dead instance: 502s, until the failure rate
        // over the last requests (more than 30 % of at least 10) takes it out for 10 s.
        var failed = 0;
        for (var i = 0; i < 20; i++)
        {
            using var response = await step.GatewayClient.GetAsync($"/api/accounts/{accountId}");
            failed += response.StatusCode == HttpStatusCode.OK ? 0 : 1;
        }

        Assert.InRange(failed, 1, 10);
        await GatewayAnsweredByAsync(step, $"/api/accounts/{accountId}", "X-Instance", [kept]);
    }

    [Fact]
    public async Task AccountsDown_UsersStaysReady_AndServesWhatNeedsNoAccounts()
    {
        await using var step = await DiscoveryStep.StartAsync(accounts: 1);
        var (userId, _) = await CreateUserWithAccountAsync(step);

        await step.Accounts[0].StopAsync();

        using (var ready = await step.Users.Client.GetAsync("/health/ready"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        using (var list = await step.Users.Client.GetAsync("/users"))
        {
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        }

        // Only what needs accounts goes without: the user, with the balance marked unavailable.
        using var one = await step.Users.Client.GetAsync($"/users/{userId}");
        await Fallback.AssertAsync(one, "unreachable");
    }

    private static async Task SwitchDatabaseAsync(ServiceProcess instance, bool available)
    {
        using var response = await instance.Client.PutAsJsonAsync("/admin/database", new { available });
        Assert.Equal(available, (await Json.ReadAsync(response, HttpStatusCode.OK)).GetProperty("available").GetBoolean());
    }

    /// <summary>
    /// Calls the gateway until the instances that answer are exactly <paramref name="expected"/>
    /// (named by <paramref name="header"/>), within a bound; then, from then on, every answer is a
    /// 200 from one of them.
    /// </summary>
    private static async Task GatewayAnsweredByAsync(DiscoveryStep step, string path, string header, ServiceProcess[] expected)
    {
        var want = expected.Select(DiscoveryStep.IdOf).Order().ToList();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        var seen = new List<string>();
        while (DateTime.UtcNow < deadline)
        {
            seen = [.. (await CallAsync(expected.Length * 4, allowFailures: true)).Order()];
            if (seen.SequenceEqual(want))
            {
                Assert.Equal(want, (await CallAsync(expected.Length * 5, allowFailures: false)).Order());
                return;
            }

            await Task.Delay(200);
        }

        Assert.Fail($"{path} through the gateway kept reaching {string.Join(", ", seen)}; expected {string.Join(", ", want)}");

        async Task<HashSet<string>> CallAsync(int calls, bool allowFailures)
        {
            var instances = new HashSet<string>();
            for (var i = 0; i < calls; i++)
            {
                using var response = await step.GatewayClient.GetAsync(path);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    Assert.True(allowFailures, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    instances.Add($"{(int)response.StatusCode}");
                    continue;
                }

                instances.Add(response.Headers.GetValues(header).Single());
            }

            return instances;
        }
    }

    private static async Task<(int UserId, int AccountId)> CreateUserWithAccountAsync(DiscoveryStep step)
    {
        using var created = await step.Users.Client.PostAsync("/users", Json.Body($$"""{"name":"Ada Lovelace","email":"ada-{{Guid.NewGuid():N}}@example.com"}"""));
        var userId = (await Json.ReadAsync(created, HttpStatusCode.Created)).GetProperty("id").GetInt32();
        using var opened = await step.Accounts[0].Client.PostAsync("/accounts", Json.Body($$"""{"userId":{{userId}},"initialBalance":15}"""));
        var accountId = (await Json.ReadAsync(opened, HttpStatusCode.Created)).GetProperty("id").GetInt32();
        return (userId, accountId);
    }
}
