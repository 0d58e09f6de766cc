using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace IntegrationTests;

/// <summary>users calls accounts over HTTP: the joined answer, and the user without a balance when accounts cannot give one.</summary>
[Lesson("02-connect")]
public sealed class ConnectTests
{
    [Fact]
    public async Task GetUser_ReturnsBalance_SummedOverTheUsersAccounts_WhenAccountsIsUp()
    {
        await using var step = await RunningStep.StartAsync();
        var id = await step.CreateUserAsync("Ada Lovelace", "ada@example.com");
        await step.OpenAccountAsync(id, 100.25m);
        await step.OpenAccountAsync(id, 20m);
        await step.OpenAccountAsync(id + 1, 999m);

        using var response = await step.Users.Client.GetAsync($"/users/{id}");

        var user = await Json.ReadAsync(response, HttpStatusCode.OK);
        Assert.Equal("Ada Lovelace", user.GetProperty("name").GetString());
        Assert.Equal(120.25m, user.GetProperty("balance").GetDecimal());
        Assert.Equal(2, user.GetProperty("accountCount").GetInt32());
    }

    [Fact]
    public async Task GetUser_CallsAccountsDirectly_WhenAWebProxyIsSetInTheEnvironment()
    {
        // As on a company laptop, or in a container that Docker gives the proxies of ~/.docker/config.json.
        // .NET would send even a call to 127.0.0.1 to this proxy, which answers every request with a 502.
        await using var proxy = StandInServer.Answering("502 Bad Gateway", "text/plain", "the proxy cannot reach accounts");
        await using var step = await RunningStep.StartAsync(usersEnvironment: WebProxy(proxy.BaseAddress));
        var id = await step.CreateUserAsync("Barbara Liskov", "barbara@example.com");
        await step.OpenAccountAsync(id, 12.5m);

        using var response = await step.Users.Client.GetAsync($"/users/{id}");

        Assert.Equal(12.50m, (await Json.ReadAsync(response, HttpStatusCode.OK)).GetProperty("balance").GetDecimal());
    }

    /// <summary>A web proxy in the environment of a service, with nothing it should go around.</summary>
    internal static Dictionary<string, string> WebProxy(Uri proxy) => new()
    {
        ["http_proxy"] = proxy.ToString(),
        ["HTTP_PROXY"] = proxy.ToString(),
        ["no_proxy"] = "",
        ["NO_PROXY"] = "",
    };

    [Fact]
    public async Task GetUser_ReturnsZeroBalance_WhenTheUserHasNoAccounts()
    {
        await using var step = await RunningStep.StartAsync();
        var id = await step.CreateUserAsync("Grace Hopper", "grace@example.com");

        using var response = await step.Users.Client.GetAsync($"/users/{id}");

        Assert.Contains("\"balance\":0.00,\"accountCount\":0", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task GetUser_FallsBackWithoutTheBalance_WhenAccountsIsStopped_AndRecoversWhenItIsBack()
    {
        await using var step = await RunningStep.StartAsync();
        var id = await step.CreateUserAsync("Alan Turing", "alan@example.com");
        await step.OpenAccountAsync(id, 42m);
        var port = step.Accounts.BaseAddress.Port;

        await step.Accounts.StopAsync();
        using (var down = await step.Users.Client.GetAsync($"/users/{id}"))
        {
            var user = await Fallback.AssertAsync(down, "unreachable");
            Assert.Equal("Alan Turing", user.GetProperty("name").GetString());
            Assert.Equal($"The accounts service could not be reached. The balance of user {id} is unknown; try again shortly.", user.GetProperty("balanceUnavailable").GetString());
            (await OpenApiContract.ReadAsync(step.Users.Client)).AssertLists("GET", "/users/{id}", down);
        }

        await step.Users.WaitForLogAsync("Accounts service unreachable at", TimeSpan.FromSeconds(5));

        // Listing users needs no balance, so it keeps working.
        using (var list = await step.Users.Client.GetAsync("/users"))
        {
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        }

        // Same port, same data: the next call succeeds again; nothing was cached as broken (three
        // failed attempts are fewer than the five that open the circuit).
        await using var restarted = await ServiceProcess.StartAsync("Accounts", step.AccountsConfiguration, port);
        using var back = await step.Users.Client.GetAsync($"/users/{id}");
        Assert.Equal(42.00m, (await Json.ReadAsync(back, HttpStatusCode.OK)).GetProperty("balance").GetDecimal());
        Assert.False(back.Headers.Contains(Fallback.Header));
    }

    [Fact]
    public async Task GetUser_FallsBackWithinTheConfiguredTimeout_WhenAccountsHangs()
    {
        await using var hanging = StandInServer.Hanging();
        await using var step = await RunningStep.StartAsync(accountsAddress: hanging.BaseAddress, timeout: "00:00:01");
        var id = await step.CreateUserAsync("Barbara Liskov", "barbara@example.com");

        var watch = Stopwatch.StartNew();
        using var response = await step.Users.Client.GetAsync($"/users/{id}");
        watch.Stop();

        var user = await Fallback.AssertAsync(response, "timeout");
        Assert.StartsWith("The accounts service did not answer within 1 s.", user.GetProperty("balanceUnavailable").GetString());
        // Bounded by the configured timeout, not by the client's 100 s or the server's.
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(10));
        await step.Users.WaitForLogAsync("did not answer within", TimeSpan.FromSeconds(5));
    }

    [Theory]
    [InlineData("500 Internal Server Error", "application/problem+json", """{"status":500}""", "The accounts service answered 500 InternalServerError.")]
    [InlineData("200 OK", "application/json", """{"not":"a list"}""", "The accounts service sent an answer users cannot read.")]
    [InlineData("200 OK", "text/html", "<html>proxy error</html>", "The accounts service sent an answer users cannot read.")]
    public async Task GetUser_FallsBackWithoutTheBalance_WhenAccountsAnswersWrongly(string status, string contentType, string body, string detail)
    {
        await using var broken = StandInServer.Answering(status, contentType, body);
        await using var step = await RunningStep.StartAsync(accountsAddress: broken.BaseAddress);
        var id = await step.CreateUserAsync("Edsger Dijkstra", "edsger@example.com");

        using var response = await step.Users.Client.GetAsync($"/users/{id}");

        var user = await Fallback.AssertAsync(response, "failed");
        Assert.StartsWith(detail, user.GetProperty("balanceUnavailable").GetString());
        (await OpenApiContract.ReadAsync(step.Users.Client)).AssertLists("GET", "/users/{id}", response);
    }

    [Fact]
    public async Task GetUser_Returns404WithoutAskingAccounts_WhenTheUserIsUnknown()
    {
        await using var hanging = StandInServer.Hanging();
        await using var step = await RunningStep.StartAsync(accountsAddress: hanging.BaseAddress, timeout: "00:00:30");

        using var response = await step.Users.Client.GetAsync("/users/4242");

        await Problem.AssertAsync(response, HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("accounts-service")]
    [InlineData("accounts-service/")]
    [InlineData("behind/two")]
    public async Task GetUser_CallsAccountsBelowThePathOfItsAddress_WithOrWithoutTheLastSlash(string path)
    {
        // As when accounts is behind a proxy that serves it under a path. Without the last '/',
        // HttpClient resolves "accounts?userId=..." one segment up: http://host/accounts.
        await using var accounts = StandInServer.Answering("200 OK", "application/json", """[{"id":7,"userId":1,"balance":5.25}]""");
        await using var step = await RunningStep.StartAsync(accountsAddress: new Uri(accounts.BaseAddress, path));
        var id = await step.CreateUserAsync("Frances Allen", "frances@example.com");

        using var response = await step.Users.Client.GetAsync($"/users/{id}");

        Assert.Equal(5.25m, (await Json.ReadAsync(response, HttpStatusCode.OK)).GetProperty("balance").GetDecimal());
        Assert.StartsWith($"GET /{path.TrimEnd('/')}/accounts?userId={id} HTTP/1.1", Assert.Single(accounts.Requests));
    }

    [Theory]
    [InlineData("localhost:8002")]
    [InlineData("/accounts")]
    [InlineData("ftp://localhost:8002/")]
    public async Task Users_RefusesToStart_WhenTheAccountsAddressIsNotAnHttpAddress(string address)
    {
        // Each of these binds to a Uri; without the check users would start, and answer every
        // GET /users/{id} with a 500 ("The 'localhost' scheme is not supported").
        using var data = new TempDirectory();
        var reported = await ServiceProcess.AssertRefusesToStartAsync("Users", new Dictionary<string, string>
        {
            ["Database__Path"] = data.File("users.db"),
            ["AccountsClient__BaseAddress"] = address,
        });

        Assert.Contains("AccountsClient:BaseAddress must be an http:// or https:// address, such as http://accounts", reported);
    }

    /// <summary>accounts (real, or a stand-in's address) and users configured to call it.</summary>
    private sealed class RunningStep : IAsyncDisposable
    {
        private readonly TempDirectory _data = new();

        public ServiceProcess Accounts { get; private set; } = null!;

        public ServiceProcess Users { get; private set; } = null!;

        public Dictionary<string, string> AccountsConfiguration => new() { ["Database__Path"] = _data.File("accounts.db") };

        public static async Task<RunningStep> StartAsync(Uri? accountsAddress = null, string? timeout = null, IReadOnlyDictionary<string, string>? usersEnvironment = null)
        {
            var step = new RunningStep();
            if (accountsAddress is null)
            {
                step.Accounts = await ServiceProcess.StartAsync("Accounts", step.AccountsConfiguration);
                accountsAddress = step.Accounts.BaseAddress;
            }

            var users = new Dictionary<string, string>
            {
                ["Database__Path"] = step._data.File("users.db"),
                ["AccountsClient__BaseAddress"] = accountsAddress.ToString(),
            };
            if (timeout is not null)
            {
                // The whole call, and each attempt within it: no retry is left once the call's time is up.
                users["Resilience__Accounts__Timeout"] = timeout;
                users["Resilience__Accounts__AttemptTimeout"] = timeout;
            }

            foreach (var (name, value) in usersEnvironment ?? new Dictionary<string, string>())
            {
                users[name] = value;
            }

            step.Users = await ServiceProcess.StartAsync("Users", users);
            return step;
        }

        public async Task<int> CreateUserAsync(string name, string email)
        {
            using var response = await Users.Client.PostAsync("/users", Json.Body(JsonSerializer.Serialize(new { name, email })));
            return (await Json.ReadAsync(response, HttpStatusCode.Created)).GetProperty("id").GetInt32();
        }

        public async Task OpenAccountAsync(int userId, decimal balance)
        {
            using var response = await Accounts.Client.PostAsync("/accounts", Json.Body(JsonSerializer.Serialize(new { userId, initialBalance = balance })));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        public async ValueTask DisposeAsync()
        {
            await Users.DisposeAsync();
            if (Accounts is not null)
            {
                await Accounts.DisposeAsync();
            }

            _data.Dispose();
        }
    }
}
