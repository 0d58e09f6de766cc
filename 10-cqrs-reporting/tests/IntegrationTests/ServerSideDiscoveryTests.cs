using System.Net;
using System.Net.Http.Json;
using Workshop.Testing.Consul;

namespace IntegrationTests;

/// <summary>
/// Step 05's lesson: the gateway, not the caller, finds the instances. Its YARP clusters take their
/// destinations from Consul while it runs: instances that register get traffic, instances that leave
/// or turn critical lose it, a change is applied once, and a failing Consul changes nothing.
/// </summary>
[Lesson("05-server-side-service-discovery")]
public sealed class ServerSideDiscoveryTests
{
    private const string Applied = "Routing ";

    [Fact]
    public async Task Gateway_SpreadsRequests_OverEveryInstanceConsulLists_InTurn()
    {
        await using var step = await DiscoveryStep.StartAsync(accounts: 3);
        await step.WaitForPassingAccountsAsync([.. step.Accounts]);
        await step.StartGatewayAsync();
        var accountId = await OpenAccountAsync(step);

        await GatewayRoutesAccountsToAsync(step, [.. step.Accounts]);
        var answeredBy = await CallGatewayAsync(step, $"/api/accounts/{accountId}", calls: 12);

        Assert.Equal(step.Accounts.Select(DiscoveryStep.IdOf).Order(), answeredBy.Keys.Order());
        Assert.All(answeredBy.Values, count => Assert.Equal(4, count));
    }

    [Fact]
    public async Task FourthInstance_GetsGatewayTraffic_WithoutAGatewayRestart()
    {
        await using var step = await DiscoveryStep.StartAsync(accounts: 3);
        await step.WaitForPassingAccountsAsync([.. step.Accounts]);
        var gateway = await step.StartGatewayAsync();
        var accountId = await OpenAccountAsync(step);
        await GatewayRoutesAccountsToAsync(step, [.. step.Accounts]);

        var fourth = await step.StartAccountsAsync();
        await step.WaitForPassingAccountsAsync([.. step.Accounts]);

        await GatewayRoutesAccountsToAsync(step, [.. step.Accounts]);
        var answeredBy = await CallGatewayAsync(step, $"/api/accounts/{accountId}", calls: 8);
        Assert.Equal(2, answeredBy.GetValueOrDefault(DiscoveryStep.IdOf(fourth)));
        Assert.False(gateway.HasExited);
        Assert.Single(gateway.Log, l => l.Contains("Now listening on", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StoppedInstance_LeavesTheGateway_WithNoFailedRequest()
    {
        await using var step = await DiscoveryStep.StartAsync(accounts: 3);
        await step.WaitForPassingAccountsAsync([.. step.Accounts]);
        await step.StartGatewayAsync();
        var accountId = await OpenAccountAsync(step);
        await GatewayRoutesAccountsToAsync(step, [.. step.Accounts]);
        var (stopped, kept) = (step.Accounts[1], new[] { step.Accounts[0], step.Accounts[2] });

        // Requests keep coming while the instance stops (SIGTERM: it deregisters, drains, then exits).
        using var calling = new CancellationTokenSource();
        var load = CallUntilCancelledAsync(step, $"/api/accounts/{accountId}", calling.Token);
        await stopped.StopAsync();
        await GatewayRoutesAccountsToAsync(step, kept);
        await calling.CancelAsync();
        var during = await load;

        Assert.True(during.Failures.Count == 0, $"{during.Failures.Count} of {during.Calls} requests failed while an instance stopped: {string.Join("; ", during.Failures.Take(3))}");
        var after = await CallGatewayAsync(step, $"/api/accounts/{accountId}", calls: 10);
        Assert.Equal(kept.Select(DiscoveryStep.IdOf).Order(), after.Keys.Order());
    }

    [Fact]
    public async Task KilledInstance_LeavesTheGateway_OnceItsCheckIsCritical()
    {
        await using var step = await DiscoveryStep.StartAsync(accounts: 3);
        await step.WaitForPassingAccountsAsync([.. step.Accounts]);
        await step.StartGatewayAsync();
        var accountId = await OpenAccountAsync(step);
        await GatewayRoutesAccountsToAsync(step, [.. step.Accounts]);
        var (killed, kept) = (step.Accounts[0], step.Accounts.Skip(1).ToArray());

        // SIGKILL: nothing deregisters it. Until Consul's next probe (and the gateway's own), the
        // gateway may still send it a share of the requests, which fail (502: it could not reach it).
        await killed.KillAsync();
        using (var meanwhile = await step.GatewayClient.GetAsync($"/api/accounts/{accountId}"))
        {
            Assert.Contains(meanwhile.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.BadGateway });
        }

        await step.WaitForPassingAccountsAsync(kept);
        Assert.Equal(CheckStatus.Critical, step.Consul.Registry.Find(DiscoveryStep.IdOf(killed))!.Status);
        await GatewayRoutesAccountsToAsync(step, kept);

        var after = await CallGatewayAsync(step, $"/api/accounts/{accountId}", calls: 10);
        Assert.Equal(kept.Select(DiscoveryStep.IdOf).Order(), after.Keys.Order());
    }

    [Theory]
    [InlineData(ConsulFault.ServerError)]
    [InlineData(ConsulFault.Garbage)]
    [InlineData(ConsulFault.EmptyServiceList)]
    [InlineData(ConsulFault.Hang)]
    public async Task ConsulFailing_KeepsTheLastGoodDestinations_AndTheGatewayAnswering(ConsulFault fault)
    {
        await using var step = await DiscoveryStep.StartAsync(accounts: 2);
        await step.WaitForPassingAccountsAsync([.. step.Accounts]);
        var gateway = await step.StartGatewayAsync();
        var accountId = await OpenAccountAsync(step);
        await GatewayRoutesAccountsToAsync(step, [.. step.Accounts]);
        var appliedBefore = AppliedCount(gateway);

        step.Consul.Fault = fault;
        // The gateway's blocking queries wait for a change; resetting the index answers them at once,
        // so the gateway asks again and meets the fault now (a hung Consul then holds those queries).
        var asked = step.Consul.CountRequests("GET", "/v1/health/service/accounts");
        step.Consul.ResetIndex();
        await step.Consul.WaitForRequestsAsync(
            r => r.Count(q => q.Method == "GET" && q.Path == "/v1/health/service/accounts") > asked + 1, TimeSpan.FromSeconds(10));
        for (var round = 0; round < 3; round++)
        {
            var answeredBy = await CallGatewayAsync(step, $"/api/accounts/{accountId}", calls: 6);
            Assert.Equal(step.Accounts.Select(DiscoveryStep.IdOf).Order(), answeredBy.Keys.Order());
            using var overview = await step.GatewayClient.GetAsync("/api/overview/1");
            Assert.True(overview.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound, $"overview: {(int)overview.StatusCode}");
            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        if (fault is not ConsulFault.Hang)
        {
            var line = await gateway.WaitForLogAsync("cannot tell where accounts is", TimeSpan.FromSeconds(10));
            Assert.Contains("calling the 2 instance(s) it named last", line, StringComparison.Ordinal);
        }

        Assert.Equal(appliedBefore, AppliedCount(gateway));

        // Consul mends, and the next change reaches the gateway.
        step.Consul.Fault = ConsulFault.None;
        await step.StartAccountsAsync();
        await step.WaitForPassingAccountsAsync([.. step.Accounts]);
        await GatewayRoutesAccountsToAsync(step, [.. step.Accounts]);
    }

    [Fact]
    public async Task RegistryChanges_AreAppliedOncePerChange_NotOncePerQuery()
    {
        await using var step = await DiscoveryStep.StartAsync(accounts: 1);
        await step.WaitForPassingAccountsAsync(step.Accounts[0]);
        // Blocking queries that come back every second when nothing changes: many queries, no change.
        var gateway = await step.StartGatewayAsync(new Dictionary<string, string> { ["Consul__BlockingWait"] = "00:00:01" });
        await GatewayRoutesAccountsToAsync(step, [.. step.Accounts]);
        var applied = AppliedCount(gateway);

        var asked = step.Consul.CountRequests("GET", "/v1/health/service/accounts");
        await step.Consul.WaitForRequestsAsync(
            r => r.Count(q => q.Method == "GET" && q.Path == "/v1/health/service/accounts") >= asked + 4, TimeSpan.FromSeconds(20));
        Assert.Equal(applied, AppliedCount(gateway));

        // A burst of changes, as instances of another machine come and go: each is applied once.
        using var consul = new HttpClient { BaseAddress = step.Consul.BaseAddress };
        var changes = new List<Func<Task>>
        {
            () => RegisterAsync(consul, "accounts-10.0.0.7-8080", "10.0.0.7"),
            () => RegisterAsync(consul, "accounts-10.0.0.8-8080", "10.0.0.8"),
            () => DeregisterAsync(consul, "accounts-10.0.0.7-8080"),
            () => RegisterAsync(consul, "accounts-10.0.0.9-8080", "10.0.0.9"),
        };
        var expected = new[]
        {
            "10.0.0.7:8080",
            "10.0.0.7:8080, 10.0.0.8:8080",
            "10.0.0.8:8080",
            "10.0.0.8:8080, 10.0.0.9:8080",
        };
        var local = $"127.0.0.1:{step.Accounts[0].BaseAddress.Port}";
        for (var i = 0; i < changes.Count; i++)
        {
            await changes[i]();
            var destinations = string.Join(", ", new[] { local }.Concat(expected[i].Split(", ")).Order(StringComparer.Ordinal));
            await gateway.WaitForLogAsync($"{Applied}accounts to {destinations};", TimeSpan.FromSeconds(10));
            Assert.Equal(applied + i + 1, AppliedCount(gateway));
        }

        // Three changes at once: the gateway ends on the last list, with at most one apply for each.
        applied = AppliedCount(gateway);
        await DeregisterAsync(consul, "accounts-10.0.0.8-8080");
        await DeregisterAsync(consul, "accounts-10.0.0.9-8080");
        await RegisterAsync(consul, "accounts-10.0.0.10-8080", "10.0.0.10");
        await gateway.WaitForLogAsync($"{Applied}accounts to 10.0.0.10:8080, {local};", TimeSpan.FromSeconds(10));
        Assert.InRange(AppliedCount(gateway) - applied, 1, 3);

        // And quiet again: more queries come back, nothing more is applied.
        applied = AppliedCount(gateway);
        asked = step.Consul.CountRequests("GET", "/v1/health/service/accounts");
        await step.Consul.WaitForRequestsAsync(
            r => r.Count(q => q.Method == "GET" && q.Path == "/v1/health/service/accounts") >= asked + 3, TimeSpan.FromSeconds(20));
        Assert.Equal(applied, AppliedCount(gateway));
    }

    [Fact]
    public async Task ScaledUsers_BothGetGatewayTraffic_AndTheOverviewFollowsTheRegistry()
    {
        await using var step = await DiscoveryStep.StartAsync(accounts: 1);
        var secondUsers = await step.StartAnotherUsersAsync();
        await step.Consul.WaitUntilAsync(r => r.Passing("users").Count == 2, TimeSpan.FromSeconds(20));
        await step.WaitForPassingAccountsAsync(step.Accounts[0]);
        var gateway = await step.StartGatewayAsync();

        using var created = await step.GatewayClient.PostAsJsonAsync("/api/users", new { name = "Ada Lovelace", email = "ada@example.com" });
        var userId = (await Json.ReadAsync(created, HttpStatusCode.Created)).GetProperty("id").GetInt32();
        using var opened = await step.GatewayClient.PostAsJsonAsync("/api/accounts", new { userId, initialBalance = 15 });
        await Json.ReadAsync(opened, HttpStatusCode.Created);

        var usersAnswering = await CallGatewayAsync(step, $"/api/users/{userId}", calls: 6, header: "X-Instance");
        Assert.Equal(new[] { DiscoveryStep.IdOf(step.Users), DiscoveryStep.IdOf(secondUsers) }.Order(), usersAnswering.Keys.Order());

        // The accounts instance the gateway was configured with (Services:accounts:http:0) leaves, a
        // new one takes its place: the aggregation and users reach it through Consul.
        var replacement = await step.StartAccountsAsync();
        await step.Accounts[0].StopAsync();
        await step.WaitForPassingAccountsAsync(replacement);
        await GatewayRoutesAccountsToAsync(step, replacement);
        await gateway.WaitForLogAsync($"accounts to 127.0.0.1:{replacement.BaseAddress.Port};", TimeSpan.FromSeconds(10));
        // Each users instance learns the replacement from Consul on its own, and its first call to the
        // new process is a cold one: both are waited for here, so that the gateway's 5 s limit on a
        // busy machine measures neither.
        foreach (var users in new[] { step.Users, secondUsers })
        {
            await UsersReachAsync(users, userId, replacement);
        }

        using var overview = await step.GatewayClient.GetAsync($"/api/overview/{userId}");
        var body = await Json.ReadAsync(overview, HttpStatusCode.OK);
        Assert.Equal(15m, body.GetProperty("user").GetProperty("balance").GetDecimal());
        Assert.Equal(15m, body.GetProperty("accounts")[0].GetProperty("balance").GetDecimal());
        var viaUsers = await CallGatewayAsync(step, $"/api/users/{userId}", calls: 4, header: "X-Accounts-Instance");
        Assert.Equal([DiscoveryStep.IdOf(replacement)], viaUsers.Keys);
    }

    /// <summary>Asks users directly until it answers with the balance from <paramref name="accounts"/>.</summary>
    private static async Task UsersReachAsync(ServiceProcess users, int userId, ServiceProcess accounts)
    {
        var expected = DiscoveryStep.IdOf(accounts);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            using var response = await users.Client.GetAsync($"/users/{userId}");
            if (response.StatusCode == HttpStatusCode.OK && response.Headers.TryGetValues("X-Accounts-Instance", out var instance) && instance.Single() == expected)
            {
                return;
            }

            last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            await Task.Delay(100);
        }

        Assert.Fail($"users at {users.BaseAddress} does not reach accounts {expected}; its last answer: {last}\n{users.Tail()}");
    }

    private static int AppliedCount(ServiceProcess gateway) =>
        gateway.Log.Count(l => l.Contains(Applied, StringComparison.Ordinal) && l.Contains("Gateway.Downstream.DestinationLog", StringComparison.Ordinal));

    /// <summary>Waits until the gateway's last applied configuration sends accounts to exactly these instances.</summary>
    private static async Task GatewayRoutesAccountsToAsync(DiscoveryStep step, params ServiceProcess[] instances)
    {
        var destinations = string.Join(", ", instances.Select(i => $"127.0.0.1:{i.BaseAddress.Port}").Order(StringComparer.Ordinal));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            var last = step.Gateway!.Log.LastOrDefault(l => l.Contains(Applied, StringComparison.Ordinal) && l.Contains("Gateway.Downstream.DestinationLog", StringComparison.Ordinal));
            if (last is not null && last.Contains($"accounts to {destinations};", StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"The gateway does not route accounts to {destinations}.\n{step.Gateway!.Tail()}");
    }

    /// <summary>GETs <paramref name="path"/> through the gateway; every answer a 200; counted by the instance <paramref name="header"/> names.</summary>
    private static async Task<Dictionary<string, int>> CallGatewayAsync(DiscoveryStep step, string path, int calls, string header = "X-Instance")
    {
        var counts = new Dictionary<string, int>();
        for (var i = 0; i < calls; i++)
        {
            using var response = await step.GatewayClient.GetAsync(path);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"call {i + 1} of {path}: {(int)response.StatusCode} {body}");
            var instance = response.Headers.GetValues(header).Single();
            counts[instance] = counts.GetValueOrDefault(instance) + 1;
        }

        return counts;
    }

    private sealed record LoadResult(int Calls, List<string> Failures);

    private static async Task<LoadResult> CallUntilCancelledAsync(DiscoveryStep step, string path, CancellationToken cancellation)
    {
        var (calls, failures) = (0, new List<string>());
        while (!cancellation.IsCancellationRequested)
        {
            using var response = await step.GatewayClient.GetAsync(path, CancellationToken.None);
            calls++;
            if (response.StatusCode != HttpStatusCode.OK)
            {
                failures.Add($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(CancellationToken.None)}");
            }
        }

        return new LoadResult(calls, failures);
    }

    private static async Task<int> OpenAccountAsync(DiscoveryStep step)
    {
        using var opened = await step.Accounts[0].Client.PostAsync("/accounts", Json.Body("""{"userId":1,"initialBalance":15}"""));
        return (await Json.ReadAsync(opened, HttpStatusCode.Created)).GetProperty("id").GetInt32();
    }

    private static async Task RegisterAsync(HttpClient consul, string id, string address)
    {
        using var response = await consul.PutAsJsonAsync("/v1/agent/service/register", new { ID = id, Name = "accounts", Address = address, Port = 8080 });
        response.EnsureSuccessStatusCode();
    }

    private static async Task DeregisterAsync(HttpClient consul, string id)
    {
        using var response = await consul.PutAsync($"/v1/agent/service/deregister/{id}", null);
        response.EnsureSuccessStatusCode();
    }
}
