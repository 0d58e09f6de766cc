using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace IntegrationTests;

/// <summary>
/// Users' calls to accounts through the Polly pipeline: real processes, accounts made to fail or hang
/// with its fault switch, and the calls counted where they arrive (at accounts).
/// </summary>
[Lesson("07-circuit-breaker")]
public sealed class ResilienceTests
{
    [Fact]
    public async Task Breaker_OpensAfterTheConfiguredFailures_ThenFallsBackAtOnce_WithoutCallingAccounts()
    {
        await using var step = await ResilientStep.StartAsync(new()
        {
            ["Resilience__Accounts__MaxRetryAttempts"] = "0", // one attempt per GET: the count is the breaker's
            ["Resilience__Accounts__MinimumThroughput"] = "5",
            ["Resilience__Accounts__FailureRatio"] = "0.55",
            ["Resilience__Accounts__SamplingDuration"] = "00:01:00",
            ["Resilience__Accounts__BreakDuration"] = "00:01:00",
        });
        var id = await step.CreateUserWithAccountAsync(10m);
        await Faults.SetAsync(step.Accounts, failureRate: 1);
        var before = await Faults.RequestsAsync(step.Accounts);

        // The two successful calls above (open the account, read it) count too: after two failures the
        // window holds four calls, too few; the third failure makes five, 3/5 = 0.6 of them failed.
        for (var i = 0; i < 3; i++)
        {
            using var failed = await step.Users.Client.GetAsync($"/users/{id}");
            await Fallback.AssertAsync(failed, "failed");
        }

        await step.Users.WaitForLogAsync("Circuit to accounts OPEN for 60 s after repeated failures (last: 500 InternalServerError)", TimeSpan.FromSeconds(5));
        Assert.Equal(before + 3, await Faults.RequestsAsync(step.Accounts));

        // While it is open, a call that reached accounts would now wait 30 s there: none does.
        await Faults.SetAsync(step.Accounts, latencyMs: 30_000);
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < 10; i++)
        {
            using var open = await step.Users.Client.GetAsync($"/users/{id}");
            var user = await Fallback.AssertAsync(open, "circuit-open");
            Assert.Equal($"The accounts service is not being called for a few seconds: it failed repeatedly (circuit open). The balance of user {id} is unknown; try again shortly.",
                user.GetProperty("balanceUnavailable").GetString());
        }

        watch.Stop();
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"ten fallbacks took {watch.Elapsed}: at least one waited for accounts");
        Assert.Equal(before + 3, await Faults.RequestsAsync(step.Accounts));

        // Observable: a health entry says so; readiness does not care (the instance serves its fallback).
        var dependencies = await Json.ReadAsync(await step.Users.Client.GetAsync("/health/dependencies"), HttpStatusCode.OK);
        Assert.Equal("Degraded", dependencies.GetProperty("status").GetString());
        var circuit = Assert.Single(dependencies.GetProperty("checks").EnumerateArray());
        Assert.Equal("accounts circuit", circuit.GetProperty("name").GetString());
        Assert.StartsWith("Open: calls to accounts fail fast", circuit.GetProperty("description").GetString());
        using var ready = await step.Users.Client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Single(step.Users.Log, line => line.Contains("Circuit to accounts OPEN"));
    }

    [Fact]
    public async Task Breaker_HalfOpensAfterTheBreak_OpensAgainOnAFailedTrial_AndClosesWhenAccountsRecovers()
    {
        await using var step = await ResilientStep.StartAsync(new()
        {
            ["Resilience__Accounts__MaxRetryAttempts"] = "0",
            ["Resilience__Accounts__MinimumThroughput"] = "2",
            ["Resilience__Accounts__FailureRatio"] = "0.5", // with the two successful calls above: the second failure opens it
            ["Resilience__Accounts__SamplingDuration"] = "00:00:30",
            ["Resilience__Accounts__BreakDuration"] = "00:00:01",
        });
        var id = await step.CreateUserWithAccountAsync(25.5m);
        await Faults.SetAsync(step.Accounts, failureRate: 1);
        for (var i = 0; i < 2; i++)
        {
            using var failed = await step.Users.Client.GetAsync($"/users/{id}");
            await Fallback.AssertAsync(failed, "failed");
        }

        await step.Users.WaitForLogAsync("Circuit to accounts OPEN for 1 s", TimeSpan.FromSeconds(5));

        // Still failing after the break: the trial call fails, and the circuit opens again.
        await PollAsync(step, "a failed trial", response => response.Headers.TryGetValues(Fallback.Header, out var why) && why.Single() == "failed");
        await step.Users.WaitForLogAsync("Circuit to accounts HALF-OPEN: the next call is a trial", TimeSpan.FromSeconds(5));
        await WaitForCountAsync(step.Users, "Circuit to accounts OPEN", 2);

        // Accounts recovers: the next trial succeeds, the circuit closes, and real balances return.
        await Faults.SetAsync(step.Accounts);
        await PollAsync(step, "the balance back", response => !response.Headers.Contains(Fallback.Header));
        await step.Users.WaitForLogAsync("Circuit to accounts CLOSED: calls go through again", TimeSpan.FromSeconds(5));
        using var back = await step.Users.Client.GetAsync($"/users/{id}");
        Assert.Equal(25.50m, (await Json.ReadAsync(back, HttpStatusCode.OK)).GetProperty("balance").GetDecimal());
        var dependencies = await Json.ReadAsync(await step.Users.Client.GetAsync("/health/dependencies"), HttpStatusCode.OK);
        Assert.Equal("Healthy", dependencies.GetProperty("status").GetString());
        Assert.Equal(2, step.Users.Log.Count(line => line.Contains("Circuit to accounts HALF-OPEN")));
        Assert.Single(step.Users.Log, line => line.Contains("Circuit to accounts CLOSED"));

        async Task PollAsync(ResilientStep step, string what, Func<HttpResponseMessage, bool> done)
        {
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                using var response = await step.Users.Client.GetAsync($"/users/{id}");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                if (done(response))
                {
                    return;
                }

                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), $"no {what} within 20 s");
                await Task.Delay(100);
            }
        }
    }

    [Fact]
    public async Task Get_IsRetried_AndPost_IsNot_WhenAccountsFails()
    {
        await using var step = await ResilientStep.StartAsync(new()
        {
            ["Resilience__Accounts__MaxRetryAttempts"] = "2",
            ["Resilience__Accounts__MinimumThroughput"] = "100", // the breaker stays out of this test
        });
        var id = await step.CreateUserWithAccountAsync(1m);
        await Faults.SetAsync(step.Accounts, failureRate: 1);

        var before = await Faults.RequestsAsync(step.Accounts);
        using (var get = await step.Users.Client.GetAsync($"/users/{id}"))
        {
            await Fallback.AssertAsync(get, "failed");
        }

        Assert.Equal(before + 3, await Faults.RequestsAsync(step.Accounts)); // the first attempt and two retries
        await step.Users.WaitForLogAsync("Retrying the call to accounts (2 of 2) in", TimeSpan.FromSeconds(5));

        // A POST may have done its work before its answer was lost: it is tried once, and the caller told.
        before = await Faults.RequestsAsync(step.Accounts);
        var retries = step.Users.Log.Count(line => line.Contains("Retrying the call to accounts"));
        using var post = await step.Users.Client.PostAsync($"/users/{id}/accounts", Json.Body("""{"initialBalance": 5}"""));
        await Problem.AssertDetailAsync(post, HttpStatusCode.BadGateway,
            "The accounts service answered 500 InternalServerError. The account was not opened; try again shortly.");
        Assert.Equal(before + 1, await Faults.RequestsAsync(step.Accounts));
        Assert.Equal(retries, step.Users.Log.Count(line => line.Contains("Retrying the call to accounts")));
    }

    [Fact]
    public async Task Get_SucceedsThroughARetry_WhenOneAccountsInstanceFails()
    {
        // Two accounts instances on one database; one fails every call. Each retry picks an instance
        // again, so a GET whose first attempt met the faulty one is answered by the other.
        using var data = new TempDirectory();
        await using var faulty = await ServiceProcess.StartAsync("Accounts", new Dictionary<string, string> { ["Database__Path"] = data.File("accounts.db") });
        await using var healthy = await ServiceProcess.StartAsync("Accounts", new Dictionary<string, string> { ["Database__Path"] = data.File("accounts.db") });
        await using var users = await ServiceProcess.StartAsync("Users", new Dictionary<string, string>
        {
            ["Database__Path"] = data.File("users.db"),
            ["Services__accounts__http__0"] = faulty.BaseAddress.ToString(),
            ["Services__accounts__http__1"] = healthy.BaseAddress.ToString(),
            ["Resilience__Accounts__MinimumThroughput"] = "100",
        });
        using var created = await users.Client.PostAsync("/users", Json.Body("""{"name":"Katherine Johnson","email":"katherine@example.com"}"""));
        var id = (await Json.ReadAsync(created, HttpStatusCode.Created)).GetProperty("id").GetInt32();
        using (var opened = await users.Client.PostAsync($"/users/{id}/accounts", Json.Body("""{"initialBalance": 7.25}""")))
        {
            Assert.Equal(HttpStatusCode.Created, opened.StatusCode);
        }

        await Faults.SetAsync(faulty, failureRate: 1);
        for (var i = 0; i < 6; i++)
        {
            using var response = await users.Client.GetAsync($"/users/{id}");
            Assert.Equal(7.25m, (await Json.ReadAsync(response, HttpStatusCode.OK)).GetProperty("balance").GetDecimal());
            Assert.False(response.Headers.Contains(Fallback.Header));
        }

        // The faulty instance was asked (and failed), and every answer came through a retry.
        Assert.True(await Faults.RequestsAsync(faulty) >= 1, "the faulty instance got no call: the test proves nothing");
        await users.WaitForLogAsync("Retrying the call to accounts (1 of 2) in", TimeSpan.FromSeconds(5));
        var defaults = await Json.ReadAsync(await healthy.Client.GetAsync("/admin/faults"), HttpStatusCode.OK);
        Assert.Equal(0, defaults.GetProperty("failureRate").GetDouble()); // per instance: the other is untouched
    }

    [Fact]
    public async Task HungAccounts_IsCutByTheTimeouts_NotByTheClientsDefault()
    {
        await using var step = await ResilientStep.StartAsync(new()
        {
            // The shipped attempt timeout (1 s), and time in all for three attempts to start.
            ["Resilience__Accounts__Timeout"] = "00:00:05",
            ["Resilience__Accounts__AttemptTimeout"] = "00:00:01",
            ["Resilience__Accounts__MinimumThroughput"] = "100",
        });
        // Set up at accounts itself, then warm users' way to accounts: on a loaded machine a first,
        // cold call can take longer than 1 s, and this test is about accounts' time only.
        var id = await step.CreateUserWithAccountAtAccountsAsync(3m);
        await step.WaitForBalanceAsync(id, 3m);
        await Faults.SetAsync(step.Accounts, latencyMs: 60_000);
        var before = await Faults.RequestsAsync(step.Accounts);

        var watch = Stopwatch.StartNew();
        using var response = await step.Users.Client.GetAsync($"/users/{id}");
        watch.Stop();

        var user = await Fallback.AssertAsync(response, "timeout");
        Assert.StartsWith("The accounts service did not answer within 1 s.", user.GetProperty("balanceUnavailable").GetString());
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(2.9), TimeSpan.FromSeconds(20));
        // Each attempt was given up after 1 s and retried: three attempts arrived at accounts.
        Assert.Equal(before + 3, await Faults.RequestsAsync(step.Accounts));
        await step.Users.WaitForLogAsync("after no answer within 1 s", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task OpenAccount_PassesOnAccountsValidation_AndNamesAnUnknownUser()
    {
        await using var step = await ResilientStep.StartAsync(new());
        var id = await step.CreateUserWithAccountAsync(0m);

        using var negative = await step.Users.Client.PostAsync($"/users/{id}/accounts", Json.Body("""{"initialBalance": -5}"""));
        var problem = await Problem.AssertAsync(negative, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("initialBalance", out _));

        using var quoted = await step.Users.Client.PostAsync($"/users/{id}/accounts", Json.Body("""{"initialBalance": "5"}"""));
        await Problem.AssertAsync(quoted, HttpStatusCode.BadRequest);

        using var unknown = await step.Users.Client.PostAsync("/users/4242/accounts", Json.Body("""{"initialBalance": 5}"""));
        await Problem.AssertDetailAsync(unknown, HttpStatusCode.NotFound, "There is no user with id 4242.");

        using var user = await step.Users.Client.GetAsync($"/users/{id}");
        Assert.Equal(1, (await Json.ReadAsync(user, HttpStatusCode.OK)).GetProperty("accountCount").GetInt32());
    }

    [Theory]
    [InlineData("""{"failureRate": 1.5}""", "failureRate")]
    [InlineData("""{"failureRate": -0.1}""", "failureRate")]
    [InlineData("""{"latencyMs": 60001}""", "latencyMs")]
    [InlineData("""{"latencyMs": -1}""", "latencyMs")]
    [InlineData("""{"failureRate": "half"}""", "failureRate")]
    [InlineData("""{"failRate": 1}""", "failRate")]
    public async Task FaultSwitch_RefusesOutOfRangeValues_WithA400NamingTheField_AndKeepsItsSettings(string body, string field)
    {
        await using var accounts = await ServiceProcess.StartAsync("Accounts", new Dictionary<string, string> { ["Database__Path"] = _data.File("accounts.db") });
        await Faults.SetAsync(accounts, failureRate: 0.25, latencyMs: 10);

        using var response = await accounts.Client.PutAsync("/admin/faults", Json.Body(body));

        var problem = await Problem.AssertAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains(field, problem.ToString());
        var state = await Json.ReadAsync(await accounts.Client.GetAsync("/admin/faults"), HttpStatusCode.OK);
        Assert.Equal(0.25, state.GetProperty("failureRate").GetDouble());
        Assert.Equal(10, state.GetProperty("latencyMs").GetInt32());
    }

    private readonly TempDirectory _data = new();

    [Fact]
    public async Task FaultSwitch_IsOffByDefault_LeavesHealthAlone_AndIsNotRoutedByTheGateway()
    {
        await using var step = await GatewayStep.StartAsync();
        var state = await Json.ReadAsync(await step.Accounts.Client.GetAsync("/admin/faults"), HttpStatusCode.OK);
        Assert.Equal(0, state.GetProperty("failureRate").GetDouble());
        Assert.Equal(0, state.GetProperty("latencyMs").GetInt32());

        await Faults.SetAsync(step.Accounts, failureRate: 1);
        using (var ready = await step.Accounts.Client.GetAsync("/health/ready"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode); // the instance stays in Consul and the gateway
        }

        using (var api = await step.Accounts.Client.GetAsync("/accounts/1"))
        {
            await Problem.AssertDetailAsync(api, HttpStatusCode.InternalServerError, "This accounts instance failed on purpose (PUT /admin/faults, failure rate 1).");
        }

        foreach (var path in new[] { "/api/admin/faults", "/admin/faults", "/api/accounts/../admin/faults" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, path) { Content = Json.Body("{}") };
            using var response = await step.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        Assert.Equal(1, (await Json.ReadAsync(await step.Accounts.Client.GetAsync("/admin/faults"), HttpStatusCode.OK)).GetProperty("failureRate").GetDouble());
    }

    [Fact]
    public async Task Overview_FallsBackWithoutTheAccounts_AndItsOwnCircuitOpens()
    {
        await using var step = await GatewayStep.StartAsync(environment: new Dictionary<string, string>
        {
            ["Resilience__Accounts__MaxRetryAttempts"] = "0",
            ["Resilience__Accounts__MinimumThroughput"] = "2",
            ["Resilience__Accounts__FailureRatio"] = "1",
            ["Resilience__Accounts__BreakDuration"] = "00:01:00",
        });
        var id = await GatewayTests.CreateUserAsync(step);
        await Faults.SetAsync(step.Accounts, failureRate: 1);

        for (var i = 0; i < 2; i++)
        {
            using var failed = await step.Client.GetAsync($"/api/overview/{id}");
            var overview = await Json.ReadAsync(failed, HttpStatusCode.OK);
            Assert.Equal("failed", Assert.Single(failed.Headers.GetValues("X-Accounts-Unavailable")));
            Assert.Equal(JsonValueKind.Null, overview.GetProperty("accounts").ValueKind);
            Assert.Equal(JsonValueKind.Null, overview.GetProperty("user").GetProperty("balance").ValueKind);
        }

        await step.Gateway.WaitForLogAsync("Circuit to accounts OPEN for 60 s", TimeSpan.FromSeconds(5));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/overview/{id}");
        request.Headers.Add("Accept", "application/xml");
        using var open = await step.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, open.StatusCode);
        Assert.Equal("circuit-open", Assert.Single(open.Headers.GetValues("X-Accounts-Unavailable")));
        var xml = System.Xml.Linq.XDocument.Parse(await open.Content.ReadAsStringAsync());
        Assert.StartsWith("The accounts service is not being called for a few seconds", xml.Root!.Element("accountsUnavailable")!.Value);
        Assert.Null(xml.Root.Element("accounts"));
        Assert.Null(xml.Root.Element("user")!.Element("balance"));
        Assert.NotNull(xml.Root.Element("user")!.Element("balanceUnavailable"));
        (await OpenApiContract.ReadAsync(step.Client)).AssertLists("GET", "/api/overview/{userId}", open);
    }

    [Theory]
    [InlineData("Resilience__Accounts__FailureRatio", "0", "FailureRatio")]
    [InlineData("Resilience__Accounts__MinimumThroughput", "1", "MinimumThroughput")]
    [InlineData("Resilience__Accounts__BreakDuration", "00:00:00.1", "BreakDuration")]
    [InlineData("Resilience__Accounts__AttemptTimeout", "00:00:05", "Resilience:Accounts:AttemptTimeout must not be longer than its Timeout")]
    public async Task Users_RefusesToStart_WhenAResilienceNumberIsOutOfRange(string key, string value, string named)
    {
        // Polly would refuse these too, but only when the first call builds the pipeline: a 500 then.
        var reported = await ServiceProcess.AssertRefusesToStartAsync("Users", new Dictionary<string, string>
        {
            ["Database__Path"] = _data.File("users.db"),
            ["Resilience__Accounts__Timeout"] = "00:00:03",
            [key] = value,
        });

        Assert.Contains(named, reported);
    }

    private static async Task WaitForCountAsync(ServiceProcess service, string text, int count)
    {
        var deadline = Stopwatch.StartNew();
        while (service.Log.Count(line => line.Contains(text)) < count)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), $"'{text}' was logged fewer than {count} times within 10 s");
            await Task.Delay(50);
        }
    }

    /// <summary>accounts and users, with the resilience settings a test gives users.</summary>
    private sealed class ResilientStep : IAsyncDisposable
    {
        private readonly TempDirectory _data = new();

        public ServiceProcess Accounts { get; private set; } = null!;

        public ServiceProcess Users { get; private set; } = null!;

        public static async Task<ResilientStep> StartAsync(Dictionary<string, string> resilience)
        {
            var step = new ResilientStep();
            step.Accounts = await ServiceProcess.StartAsync("Accounts", new Dictionary<string, string> { ["Database__Path"] = step._data.File("accounts.db") });
            resilience["Database__Path"] = step._data.File("users.db");
            resilience["AccountsClient__BaseAddress"] = step.Accounts.BaseAddress.ToString();
            step.Users = await ServiceProcess.StartAsync("Users", resilience);
            return step;
        }

        /// <summary>A user with one account, opened through users (which checks the user exists).</summary>
        public async Task<int> CreateUserWithAccountAsync(decimal balance)
        {
            using var created = await Users.Client.PostAsync("/users", Json.Body(JsonSerializer.Serialize(new { name = "Ada Lovelace", email = $"ada{Guid.NewGuid():N}@example.com" })));
            var id = (await Json.ReadAsync(created, HttpStatusCode.Created)).GetProperty("id").GetInt32();
            using var opened = await Users.Client.PostAsync($"/users/{id}/accounts", Json.Body(JsonSerializer.Serialize(new { initialBalance = balance })));
            Assert.Equal(HttpStatusCode.Created, opened.StatusCode);
            using var read = await Users.Client.GetAsync($"/users/{id}");
            Assert.Equal(balance, (await Json.ReadAsync(read, HttpStatusCode.OK)).GetProperty("balance").GetDecimal());
            return id;
        }

        /// <summary>A user at users and an account for them opened at accounts directly: no call from users yet.</summary>
        public async Task<int> CreateUserWithAccountAtAccountsAsync(decimal balance)
        {
            using var created = await Users.Client.PostAsync("/users", Json.Body(JsonSerializer.Serialize(new { name = "Ada Lovelace", email = $"ada{Guid.NewGuid():N}@example.com" })));
            var id = (await Json.ReadAsync(created, HttpStatusCode.Created)).GetProperty("id").GetInt32();
            using var opened = await Accounts.Client.PostAsync("/accounts", Json.Body(JsonSerializer.Serialize(new { userId = id, initialBalance = balance })));
            Assert.Equal(HttpStatusCode.Created, opened.StatusCode);
            return id;
        }

        /// <summary>Asks users for the user until the balance comes (not the fallback), within a bound.</summary>
        public async Task WaitForBalanceAsync(int id, decimal balance)
        {
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                using var response = await Users.Client.GetAsync($"/users/{id}");
                if (!response.Headers.Contains(Fallback.Header))
                {
                    Assert.Equal(balance, (await Json.ReadAsync(response, HttpStatusCode.OK)).GetProperty("balance").GetDecimal());
                    return;
                }

                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), "users got no balance from accounts within 30 s");
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Users.DisposeAsync();
            await Accounts.DisposeAsync();
            _data.Dispose();
        }
    }
}
