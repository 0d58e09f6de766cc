using System.Net;
using System.Text.Json;
using System.Xml.Linq;

namespace IntegrationTests;

/// <summary>The gateway with a stand-in behind it: what it forwards, that it calls in parallel, and how it fails.</summary>
[Lesson("03-api-gateway")]
public sealed class GatewayFailureTests
{
    private const string JsonType = "application/json";

    [Fact]
    public async Task ProxiedRequests_LoseTheApiKey_AndKeepTheCorrelationId()
    {
        await using var users = StandInServer.Answering("200 OK", JsonType, "[]");
        await using var step = await GatewayStep.StartAsync(usersAddress: users.BaseAddress);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/users?page=2");
        request.Headers.Add("X-Correlation-Id", "forwarding-check-1");
        using var response = await step.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var forwarded = Assert.Single(users.Requests);
        Assert.StartsWith("GET /users?page=2 HTTP/1.1\r\n", forwarded);
        Assert.Contains("\r\nX-Correlation-Id: forwarding-check-1\r\n", forwarded, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("X-Api-Key", forwarded, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(GatewayStep.TestApiKey, forwarded);
    }

    [Fact]
    public async Task Overview_CallsBothServicesInParallel()
    {
        StandInServer users = null!;
        StandInServer accounts = null!;
        var bound = TimeSpan.FromSeconds(10);
        users = StandInServer.Answering("200 OK", JsonType, """{"id":5,"name":"Ada","email":"ada@example.com","balance":3.00,"accountCount":1}""", () => accounts.FirstRequest.WaitAsync(bound));
        accounts = StandInServer.Answering("200 OK", JsonType, """[{"id":9,"userId":5,"balance":3.00}]""", () => users.FirstRequest.WaitAsync(bound));
        await using (users)
        await using (accounts)
        {
            await using var step = await GatewayStep.StartAsync(usersAddress: users.BaseAddress, accountsAddress: accounts.BaseAddress, overviewTimeout: "00:00:20");

            using var response = await step.Client.GetAsync("/api/overview/5");

            var overview = await Json.ReadAsync(response, HttpStatusCode.OK);
            Assert.Equal(9, overview.GetProperty("accounts")[0].GetProperty("id").GetInt32());
            Assert.StartsWith("GET /users/5 HTTP/1.1", Assert.Single(users.Requests));
            Assert.StartsWith("GET /accounts?userId=5 HTTP/1.1", Assert.Single(accounts.Requests));
        }
    }

    [Fact]
    public async Task Overview_CallsTheServicesDirectly_WhenAWebProxyIsSetInTheEnvironment()
    {
        // A proxy in the environment of every service, which answers every request with a 502:
        // the gateway's overview clients, its proxied routes and users' call to accounts go around it.
        await using var proxy = StandInServer.Answering("502 Bad Gateway", "text/plain", "the proxy cannot reach the services");
        await using var step = await GatewayStep.StartAsync(environment: ConnectTests.WebProxy(proxy.BaseAddress));
        var id = await GatewayTests.CreateUserWithAccountsAsync(step, 7m);

        using var response = await step.Client.GetAsync($"/api/overview/{id}");

        var overview = await Json.ReadAsync(response, HttpStatusCode.OK);
        Assert.Equal(7.00m, overview.GetProperty("user").GetProperty("balance").GetDecimal());
        Assert.Equal(7.00m, overview.GetProperty("accounts")[0].GetProperty("balance").GetDecimal());
        Assert.Empty(proxy.Requests);
    }

    [Fact]
    public async Task Overview_Returns503NamingTheService_WhenUsersCannotBeReached()
    {
        var closed = StandInServer.Hanging();
        var address = closed.BaseAddress;
        await closed.DisposeAsync(); // nothing listens there any more
        await using var step = await GatewayStep.StartAsync(usersAddress: address);

        using var response = await step.Client.GetAsync("/api/overview/1");

        var problem = await Problem.AssertAsync(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("The users service is unavailable", problem.GetProperty("title").GetString());
        Assert.Equal("The users service could not be reached.", problem.GetProperty("detail").GetString());
        (await OpenApiContract.ReadAsync(step.Client)).AssertLists("GET", "/api/overview/{userId}", response);
        await step.Gateway.WaitForLogAsync("Overview of user 1 failed: The users service could not be reached.", TimeSpan.FromSeconds(5));

        // The proxied route has no answer to pass on: the proxy's own 502, as a ProblemDetails that says why.
        using var proxied = await step.Client.GetAsync("/api/users");
        await Problem.AssertDetailAsync(proxied, HttpStatusCode.BadGateway, "The users service could not be reached.");
        using var htmlOnly = new HttpRequestMessage(HttpMethod.Get, "/api/users");
        htmlOnly.Headers.TryAddWithoutValidation("Accept", "text/html");
        using var proxiedAsHtml = await step.Client.SendAsync(htmlOnly);
        await Problem.AssertDetailAsync(proxiedAsHtml, HttpStatusCode.BadGateway, "The users service could not be reached.");

        // The log says so in one line, with the reason; YARP's own warning, stack trace and all, stays out.
        var logged = await step.Gateway.WaitForLogAsync("GET /api/users: The users service could not be reached (", TimeSpan.FromSeconds(5));
        Assert.Contains("warn: Gateway.Downstream.ProxyErrors", logged);
        if (OperatingSystem.IsLinux())
        {
            // As the README quotes it (the socket error's wording is the operating system's).
            Assert.EndsWith($"GET /api/users: The users service could not be reached (Connection refused ({address.Host}:{address.Port}))", logged);
        }

        Assert.DoesNotContain(step.Gateway.Log, line => line.Contains("Yarp.ReverseProxy.Forwarder", StringComparison.Ordinal) || line.Contains(" at System.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ProxiedRequests_Return504NamingTheService_WhenItHangs()
    {
        await using var hanging = StandInServer.Hanging();
        await using var step = await GatewayStep.StartAsync(accountsAddress: hanging.BaseAddress);

        using var response = await step.Client.GetAsync("/api/accounts/1");

        // The shipped appsettings.json waits 5 s for a service that has gone quiet (YARP alone would wait 100 s).
        await Problem.AssertDetailAsync(response, HttpStatusCode.GatewayTimeout, "The accounts service did not answer within 5 s.");
        var logged = await step.Gateway.WaitForLogAsync("GET /api/accounts/1: The accounts service did not answer within 5 s", TimeSpan.FromSeconds(5));
        Assert.EndsWith("within 5 s", logged);
    }

    [Fact]
    public async Task ACallerThatGoesAway_IsLoggedAsSuch_NotAsAFailedService()
    {
        // As when a load test stops with requests in flight: the service is slow, the caller gives up.
        await using var hanging = StandInServer.Hanging();
        await using var step = await GatewayStep.StartAsync(accountsAddress: hanging.BaseAddress);

        using var giveUp = new CancellationTokenSource();
        var call = step.Client.GetAsync("/api/accounts/7", giveUp.Token);
        await hanging.FirstRequest.WaitAsync(TimeSpan.FromSeconds(5));
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

        var logged = await step.Gateway.WaitForLogAsync("GET /api/accounts/7: ", TimeSpan.FromSeconds(5));
        Assert.Contains("info: Gateway.Downstream.ProxyErrors", logged);
        Assert.EndsWith("GET /api/accounts/7: the caller went away before the answer was complete; no service failed (RequestCanceled)", logged);
        // The request's own line says 499 (client closed request), as for the overview, not YARP's 400.
        await step.Gateway.WaitForLogAsync("GET /api/accounts/7 answered 499 in", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Overview_PassesOnUsersAnswer_WithoutWaitingForAccounts()
    {
        await using var hanging = StandInServer.Hanging();
        await using var step = await GatewayStep.StartAsync(accountsAddress: hanging.BaseAddress, overviewTimeout: "00:01:00");
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        using var response = await step.Client.GetAsync("/api/overview/999999", bound.Token);

        // Users said 404 while accounts still had not answered: the gateway answered without waiting a minute for it.
        await Problem.AssertDetailAsync(response, HttpStatusCode.NotFound, "There is no user with id 999999.");
        await hanging.FirstRequest.WaitAsync(TimeSpan.FromSeconds(5)); // accounts was asked, in parallel
    }

    [Fact]
    public async Task Overview_FallsBackWithoutTheAccounts_WithinItsTimeout_WhenAccountsHangs()
    {
        await using var hanging = StandInServer.Hanging();
        // Only the gateway's accounts cluster points at the hung stand-in; users keeps the real accounts.
        await using var step = await GatewayStep.StartAsync(accountsAddress: hanging.BaseAddress, environment: new Dictionary<string, string>
        {
            ["Resilience__Accounts__Timeout"] = "00:00:02",
            ["Resilience__Accounts__AttemptTimeout"] = "00:00:02",
        });
        var id = await GatewayTests.CreateUserAsync(step);
        using (var warm = await step.Client.GetAsync($"/api/users/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode); // users and its call to accounts are warm: only accounts can be slow
        }

        using var response = await step.Client.GetAsync($"/api/overview/{id}");

        var overview = await Json.ReadAsync(response, HttpStatusCode.OK);
        Assert.Equal("timeout", Assert.Single(response.Headers.GetValues("X-Accounts-Unavailable")));
        Assert.Equal($"The accounts service did not answer within 2 s. The accounts of user {id} are not listed; try again shortly.", overview.GetProperty("accountsUnavailable").GetString());
        Assert.Equal("Ada Lovelace", overview.GetProperty("user").GetProperty("name").GetString()); // users answered
        await step.Gateway.WaitForLogAsync($"Overview of user {id} without its accounts: The accounts service did not answer within 2 s.", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Gateway_RefusesToStart_WithoutAnApiKeyConfigured()
    {
        var reported = await ServiceProcess.AssertRefusesToStartAsync("Gateway", new Dictionary<string, string>());

        Assert.Contains("ApiKey:Keys must hold at least one key", reported);
    }

    [Theory]
    [InlineData("localhost:8001")]
    [InlineData("ftp://localhost:8001/")]
    public async Task Gateway_RefusesToStart_WhenAServiceAddressIsNotAnHttpAddress(string address)
    {
        // Without the check the gateway would start, and answer 502 on the route and 500 on the overview.
        var reported = await ServiceProcess.AssertRefusesToStartAsync("Gateway", new Dictionary<string, string>
        {
            ["ApiKey__Keys__0"] = GatewayStep.TestApiKey,
            ["ReverseProxy__Clusters__users__Destinations__primary__Address"] = address,
        });

        Assert.Contains($"ReverseProxy:Clusters:users:Destinations:primary:Address is '{address}', not an http:// or https:// address such as http://users or http://localhost:8001/.", reported);
    }

    [Fact]
    public async Task Gateway_NamesEveryAddressThatIsNotOne_AtOnce()
    {
        var reported = await ServiceProcess.AssertRefusesToStartAsync("Gateway", new Dictionary<string, string>
        {
            ["ApiKey__Keys__0"] = GatewayStep.TestApiKey,
            ["ReverseProxy__Clusters__users__Destinations__primary__Address"] = "localhost:8001",
            ["ReverseProxy__Clusters__accounts__Destinations__primary__Address"] = "localhost:8002",
        });

        Assert.Contains("ReverseProxy:Clusters:users:Destinations:primary:Address is 'localhost:8001'", reported);
        Assert.Contains("ReverseProxy:Clusters:accounts:Destinations:primary:Address is 'localhost:8002'", reported);
    }
}
