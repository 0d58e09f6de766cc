using System.Net;
using System.Text.Json;
using Workshop.Testing.Consul;

namespace IntegrationTests;

/// <summary>
/// Step 04's lesson: instances register in Consul, users finds accounts through it, and follows as
/// instances come, go, crash, and as Consul itself fails.
/// </summary>
[Lesson("04-service-discovery")]
public sealed class DiscoveryTests
{
    private const string InstanceHeader = "X-Accounts-Instance";

    [Fact]
    public async Task EveryInstance_RegistersWithItsAddressAndAnHttpCheckOnReadiness_AndSaysWhoItIsInEveryAnswer()
    {
        await using var step = await DiscoveryStep.StartAsync(accounts: 1);
        var accounts = step.Accounts[0];
        await step.WaitForPassingAccountsAsync(accounts);

        var registered = step.Consul.Registry.Find(DiscoveryStep.IdOf(accounts))!;
        Assert.Equal(("accounts", "127.0.0.1", accounts.BaseAddress.Port), (registered.Name, registered.Address, registered.Port));
        var check = Assert.Single(registered.Checks);
        Assert.Equal(("http", $"http://127.0.0.1:{accounts.BaseAddress.Port}/health/ready"), (check.Type, check.Http));
        Assert.Equal((TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1)), (check.Interval, check.Timeout, check.DeregisterCriticalServiceAfter));
        Assert.StartsWith($"HTTP GET http://127.0.0.1:{accounts.BaseAddress.Port}/health/ready: 200 OK Output: {{\"status\":\"Healthy\"", check.Output, StringComparison.Ordinal);
        Assert.NotNull(await step.Consul.WaitUntilAsync(r => r.Passing("users").Count == 1, TimeSpan.FromSeconds(10)));

        using var answer = await accounts.Client.GetAsync("/accounts");
        Assert.Equal(DiscoveryStep.IdOf(accounts), answer.Headers.GetValues("X-Instance").Single());
        await accounts.WaitForLogAsync($"Registered {DiscoveryStep.IdOf(accounts)} at 127.0.0.1:{accounts.BaseAddress.Port} in Consul", TimeSpan.FromSeconds(5));
    }

    /// <summary>
    /// On a network that spans machines (a Docker Swarm overlay) a container's host name means nothing
    /// on the other machines: with Consul:ServiceNetwork set, an instance listening on every interface
    /// registers its own address inside that network instead (loopback's here).
    /// </summary>
    [Fact]
    public async Task InstanceOnEveryInterface_RegistersItsAddressInTheServiceNetwork_NotItsHostName()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var data = new TempDirectory();
        await using var accounts = await ServiceProcess.StartAsync("Accounts", new Dictionary<string, string>
        {
            ["Consul__Address"] = consul.BaseAddress.ToString(),
            ["Consul__ServiceNetwork"] = "127.0.0.0/8",
            ["Database__Path"] = data.File("accounts.db"),
        }, host: "0.0.0.0");

        var port = accounts.BaseAddress.Port;
        var registry = await consul.WaitUntilAsync(r => r.Instances("accounts").Count == 1, TimeSpan.FromSeconds(20));
        var registered = Assert.Single(registry.Instances("accounts"));
        Assert.Equal(($"accounts-127.0.0.1-{port}", "127.0.0.1", port), (registered.Id, registered.Address, registered.Port));
        await accounts.WaitForLogAsync($"Registered accounts-127.0.0.1-{port} at 127.0.0.1:{port} in Consul", TimeSpan.FromSeconds(5));
    }

    [Theory]
    [InlineData("10.20.0.0/33")]
    [InlineData("10.20.0.0")]
    [InlineData("fd00::/8")]
    public async Task ServiceNetworkThatIsNoIPv4Network_IsRefusedAtStart_NamingTheSetting(string network)
    {
        using var data = new TempDirectory();
        var reported = await ServiceProcess.AssertRefusesToStartAsync("Accounts", new Dictionary<string, string>
        {
            ["Database__Path"] = data.File("accounts.db"),
            ["Consul__ServiceNetwork"] = network,
        });

        Assert.Contains("Consul:ServiceNetwork must be an IPv4 network in CIDR notation, such as 10.20.0.0/16", reported);
    }

    [Fact]
    public async Task ServiceNetworkThisMachineHasNoAddressIn_StopsTheStart_NamingTheNetworkAndTheAddressesFound()
    {
        // A documentation network (RFC 5737) that none of this machine's interfaces is in.
        var local = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(u => u.Address).ToList();
        var network = new[] { "198.51.100.0/24", "203.0.113.0/24", "192.0.2.0/24" }
            .First(n => !local.Any(System.Net.IPNetwork.Parse(n).Contains));
        using var data = new TempDirectory();
        var reported = await ServiceProcess.AssertRefusesToStartAsync("Accounts", new Dictionary<string, string>
        {
            ["Database__Path"] = data.File("accounts.db"),
            ["Consul__ServiceNetwork"] = network,
        });

        Assert.Contains($"No network interface of this machine has an address in Consul:ServiceNetwork {network}; its IPv4 addresses are ", reported);
        Assert.Matches(@"its IPv4 addresses are [^;\n]*\b127\.0\.0\.1\b", reported);
    }

    [Fact]
    public async Task UsersCalls_ReachEveryRegisteredAccountsInstance_InTurn()
    {
        await using var step = await DiscoveryStep.StartAsync(accounts: 3);
        await step.WaitForPassingAccountsAsync([.. step.Accounts]);
        var userId = await CreateUserWithAccountAsync(step);

        var answeredBy = await CallUsersAsync(step, userId, calls: 30);

        Assert.Equal(step.Accounts.Select(DiscoveryStep.IdOf).Order(), answeredBy.Keys.Order());
        Assert.All(answeredBy.Values, count => Assert.Equal(10, count));
    }

    [Fact]
    public async Task StoppedInstance_LeavesConsulAtOnce_AndGetsNoMoreCalls()
    {
        await using var step = await DiscoveryStep.StartAsync(accounts: 3);
        await step.WaitForPassingAccountsAsync([.. step.Accounts]);
        var userId = await CreateUserWithAccountAsync(step);
        var (stopped, kept) = (step.Accounts[2], step.Accounts.Take(2).ToArray());

        // SIGTERM, as `docker stop` sends: the instance deregisters, then stops.
        var stopping = stopped.StopAsync();
        await step.WaitForPassingAccountsAsync(kept);
        Assert.Null(step.Consul.Registry.Find(DiscoveryStep.IdOf(stopped)));
        await stopping;
        Assert.Contains(stopped.Log, l => l.Contains($"Deregistered {DiscoveryStep.IdOf(stopped)} from Consul", StringComparison.Ordinal));

        var answeredBy = await CallUsersAsync(step, userId, calls: 20);
        Assert.Equal(kept.Select(DiscoveryStep.IdOf).Order(), answeredBy.Keys.Order());
    }

    [Fact]
    public async Task KilledInstance_TurnsCriticalAtConsulsNextProbe_AndThenGetsNoMoreCalls()
    {
        await using var step = await DiscoveryStep.StartAsync(accounts: 3);
        await step.WaitForPassingAccountsAsync([.. step.Accounts]);
        var userId = await CreateUserWithAccountAsync(step);
        var (killed, kept) = (step.Accounts[0], step.Accounts.Skip(1).ToArray());

        // SIGKILL, as a crash: nothing deregisters it; Consul's next probe (every second here) finds nobody there.
        await killed.KillAsync();
        await step.WaitForPassingAccountsAsync(kept);
        Assert.Equal(CheckStatus.Critical, step.Consul.Registry.Find(DiscoveryStep.IdOf(killed))!.Status);

        // A probe under way as the process died may end otherwise (reset, cut short); the next finds the port closed.
        await step.Consul.WaitUntilAsync(
            r => r.Find(DiscoveryStep.IdOf(killed)) is { Status: CheckStatus.Critical } entry
                && entry.Checks.Single().Output.Contains("connection refused", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10));

        // Users learns of it from its blocking query; give that answer a moment to arrive.
        await UsersCallOnlyAsync(step, userId, kept);
    }

    [Fact]
    public async Task NewInstance_GetsCalls_AsSoonAsItHasRegistered()
    {
        await using var step = await DiscoveryStep.StartAsync(accounts: 1);
        var userId = await CreateUserWithAccountAsync(step);
        await step.WaitForPassingAccountsAsync(step.Accounts[0]);
        Assert.Equal([DiscoveryStep.IdOf(step.Accounts[0])], (await CallUsersAsync(step, userId, calls: 4)).Keys);

        var added = await step.StartAccountsAsync();
        await step.WaitForPassingAccountsAsync(step.Accounts[0], added);

        await UsersCallOnlyAsync(step, userId, [step.Accounts[0], added]);
    }

    [Fact]
    public async Task ConsulDownAtStart_ServicesServeFromConfiguration_AndRegisterOnceItIsUp()
    {
        var consul = ConsulStandIn.Create();
        await using var step = await DiscoveryStep.StartAsync(accounts: 1, consul);
        var userId = await CreateUserWithAccountAsync(step);

        // Users calls accounts at Services:accounts:http:0, and says once why.
        using var answer = await step.Users.Client.GetAsync($"/users/{userId}");
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        await step.Users.WaitForLogAsync("cannot tell where accounts is", TimeSpan.FromSeconds(10));
        await step.Accounts[0].WaitForLogAsync("cannot be reached", TimeSpan.FromSeconds(10));

        await consul.BringUpAsync();
        await step.WaitForPassingAccountsAsync(step.Accounts[0]);
        await consul.WaitUntilAsync(r => r.Passing("users").Count == 1, TimeSpan.FromSeconds(20));
        await step.Accounts[0].WaitForLogAsync("Consul at", TimeSpan.FromSeconds(5));
        Assert.Single(step.Accounts[0].Log, l => l.Contains("cannot be reached", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(ConsulFault.ServerError)]
    [InlineData(ConsulFault.Garbage)]
    [InlineData(ConsulFault.EmptyServiceList)]
    [InlineData(ConsulFault.Hang)]
    public async Task ConsulFailing_KeepsUsersOnTheInstancesItKnew_WithOneLogLine(ConsulFault fault)
    {
        await using var step = await DiscoveryStep.StartAsync(accounts: 2);
        await step.WaitForPassingAccountsAsync([.. step.Accounts]);
        var userId = await CreateUserWithAccountAsync(step);
        await UsersCallOnlyAsync(step, userId, [.. step.Accounts]);

        step.Consul.Fault = fault;
        // Users' blocking query is waiting for a change; resetting the index answers it at once, so
        // users asks again and meets the fault now (a hung Consul then holds that query).
        step.Consul.ResetIndex();
        for (var round = 0; round < 3; round++)
        {
            var answeredBy = await CallUsersAsync(step, userId, calls: 10);
            Assert.Equal(step.Accounts.Select(DiscoveryStep.IdOf).Order(), answeredBy.Keys.Order());
            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        if (fault is not ConsulFault.Hang)
        {
            var line = await step.Users.WaitForLogAsync("cannot tell where accounts is", TimeSpan.FromSeconds(10));
            Assert.Contains("calling the 2 instance(s) it named last", line, StringComparison.Ordinal);
            Assert.Single(step.Users.Log, l => l.Contains("cannot tell where accounts is", StringComparison.Ordinal));
        }

        // Consul mends: users hears of a change again.
        step.Consul.Fault = ConsulFault.None;
        await step.StartAccountsAsync();
        await step.WaitForPassingAccountsAsync([.. step.Accounts]);
        await UsersCallOnlyAsync(step, userId, [.. step.Accounts]);
    }

    /// <summary>Calls users until the accounts instances that answer are exactly <paramref name="expected"/>, within a bound.</summary>
    private static async Task UsersCallOnlyAsync(DiscoveryStep step, int userId, ServiceProcess[] expected)
    {
        var want = expected.Select(DiscoveryStep.IdOf).Order().ToList();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        List<string> seen;
        do
        {
            seen = [.. (await CallUsersAsync(step, userId, calls: expected.Length * 3)).Keys.Order()];
            if (seen.SequenceEqual(want))
            {
                // And from now on, only those.
                Assert.Equal(want, (await CallUsersAsync(step, userId, calls: expected.Length * 4)).Keys.Order());
                return;
            }

            await Task.Delay(200);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"users kept calling {string.Join(", ", seen)}; expected {string.Join(", ", want)}");
    }

    /// <summary>GET /users/{id} <paramref name="calls"/> times; every answer a 200; counted by the accounts instance that answered.</summary>
    private static async Task<Dictionary<string, int>> CallUsersAsync(DiscoveryStep step, int userId, int calls)
    {
        var counts = new Dictionary<string, int>();
        for (var i = 0; i < calls; i++)
        {
            using var response = await step.Users.Client.GetAsync($"/users/{userId}");
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"call {i + 1}: {(int)response.StatusCode} {body}");
            Assert.Equal(15m, JsonDocument.Parse(body).RootElement.GetProperty("balance").GetDecimal());
            var instance = response.Headers.GetValues(InstanceHeader).Single();
            counts[instance] = counts.GetValueOrDefault(instance) + 1;
        }

        return counts;
    }

    private static async Task<int> CreateUserWithAccountAsync(DiscoveryStep step)
    {
        using var created = await step.Users.Client.PostAsync("/users", Json.Body($$"""{"name":"Ada Lovelace","email":"ada-{{Guid.NewGuid():N}}@example.com"}"""));
        var userId = (await Json.ReadAsync(created, HttpStatusCode.Created)).GetProperty("id").GetInt32();
        using var opened = await step.Accounts[0].Client.PostAsync("/accounts", Json.Body($$"""{"userId":{{userId}},"initialBalance":15}"""));
        await Json.ReadAsync(opened, HttpStatusCode.Created);
        return userId;
    }
}
