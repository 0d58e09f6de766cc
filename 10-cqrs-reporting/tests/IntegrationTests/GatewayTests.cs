using System.Net;
using System.Text.Json;
using System.Xml.Linq;

namespace IntegrationTests;

/// <summary>
/// The gateway: routing from configuration, an API key at the edge, one aggregated call in JSON or XML,
/// a correlation id end to end. One running step is shared by the tests; each creates its own data.
/// </summary>
[Lesson("03-api-gateway")]
public sealed class GatewayTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private readonly GatewayStep _step = fixture.Step;

    private const string JsonType = "application/json";

    [Fact]
    public async Task ApiRoutes_ReachUsersAndAccounts_WithPathAndQueryKept()
    {
        using var created = await _step.Client.PostAsync("/api/users", Json.Body("""{"name":"Ada Lovelace","email":"ada@example.com"}"""));
        var id = (await Json.ReadAsync(created, HttpStatusCode.Created)).GetProperty("id").GetInt32();
        using var opened = await _step.Client.PostAsync("/api/accounts", Json.Body($$"""{"userId":{{id}},"initialBalance":10}"""));
        var accountId = (await Json.ReadAsync(opened, HttpStatusCode.Created)).GetProperty("id").GetInt32();
        using var deposit = await _step.Client.PostAsync($"/api/accounts/{accountId}/deposit", Json.Body("""{"amount":5}"""));
        Assert.Equal(HttpStatusCode.OK, deposit.StatusCode);

        using var user = await _step.Client.GetAsync($"/api/users/{id}");
        Assert.Equal(15.00m, (await Json.ReadAsync(user, HttpStatusCode.OK)).GetProperty("balance").GetDecimal());
        using var accounts = await _step.Client.GetAsync($"/api/accounts?userId={id}");
        Assert.Single((await Json.ReadAsync(accounts, HttpStatusCode.OK)).EnumerateArray());

        // Each service logged the request on its own path, without the /api prefix.
        await _step.Users.WaitForLogAsync($"GET /users/{id} answered 200", TimeSpan.FromSeconds(5));
        await _step.Accounts.WaitForLogAsync($"POST /accounts/{accountId}/deposit answered 200", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task ServiceErrors_PassThroughTheGateway_Unchanged()
    {
        using var response = await _step.Client.PostAsync("/api/users", Json.Body("""{"name":"","email":"x"}"""));

        await Problem.AssertFieldAsync(response, "name");
    }

    [Theory]
    [InlineData(null, "Send an API key in the X-Api-Key header.")]
    [InlineData("wrong-key", "The API key in the X-Api-Key header is not valid.")]
    [InlineData("test-key-5d1", "The API key in the X-Api-Key header is not valid.")]
    public async Task Requests_WithoutAValidApiKey_Get401_AndNeverReachTheServices(string? key, string detail)
    {
        using var client = new HttpClient { BaseAddress = _step.Gateway.BaseAddress };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", key);
        }

        var contract = await OpenApiContract.ReadAsync(client);
        var marker = Guid.NewGuid().ToString("N");
        foreach (var path in new[] { $"/api/users?probe={marker}", $"/api/accounts?probe={marker}", "/api/overview/1" })
        {
            // Also for a caller that accepts only HTML or only XML: the refusal is the same ProblemDetails.
            foreach (var accept in new[] { JsonType, "text/html", "application/xml" })
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, path);
                request.Headers.TryAddWithoutValidation("Accept", accept);
                using var response = await client.SendAsync(request);
                var problem = await Problem.AssertAsync(response, HttpStatusCode.Unauthorized);
                Assert.Equal(detail, problem.GetProperty("detail").GetString());
                Assert.Equal("ApiKey header=\"X-Api-Key\"", response.Headers.WwwAuthenticate.ToString());
                if (path.StartsWith("/api/overview/", StringComparison.Ordinal))
                {
                    contract.AssertLists("GET", "/api/overview/{userId}", response);
                }
            }
        }

        // The gateway logged the refusals; the services never saw the requests.
        await _step.Gateway.WaitForLogAsync($"GET /api/users?probe={marker} answered 401", TimeSpan.FromSeconds(5));
        Assert.DoesNotContain(_step.Users.Log, line => line.Contains(marker, StringComparison.Ordinal));
        Assert.DoesNotContain(_step.Accounts.Log, line => line.Contains(marker, StringComparison.Ordinal));
    }

    [Fact]
    public async Task OversizedBody_Gets413NamingTheLimit_NotAServiceFailure()
    {
        // The gateway's own body limit stops it: the caller's fault, which the answer must not blame
        // on the users service.
        var huge = $$"""{"name":"{{new string('x', 20 * 1024)}}","email":"a@example.com"}""";
        using var response = await _step.Client.PostAsync("/api/users", Json.Body(huge));

        await Problem.AssertDetailAsync(response, HttpStatusCode.RequestEntityTooLarge, "The request body may be at most 16384 bytes.");
        var logged = await _step.Gateway.WaitForLogAsync("POST /api/users: the caller's request could not be read", TimeSpan.FromSeconds(5));
        Assert.Contains("info: Gateway.Downstream.ProxyErrors", logged);
        Assert.EndsWith("POST /api/users: the caller's request could not be read; no service failed (RequestBodyClient)", logged);
    }

    [Theory]
    [InlineData("/api/health")]
    [InlineData("/api/openapi/v1.json")]
    [InlineData("/api/users/health/ready")]
    [InlineData("/api/accounts/health/live")]
    [InlineData("/api/admin/database")]
    [InlineData("/admin/database")]
    [InlineData("/users")]
    [InlineData("/accounts")]
    public async Task ServiceEndpoints_OutsideTheApiRoutes_AreNotExposed(string path)
    {

        using var response = await _step.Client.GetAsync(path);

        // /api/users/... and /api/accounts/... are routed: the service answers, about the path it got.
        var seen = path.StartsWith("/api/users/", StringComparison.Ordinal) || path.StartsWith("/api/accounts/", StringComparison.Ordinal)
            ? path["/api".Length..]
            : path;
        await Problem.AssertDetailAsync(response, HttpStatusCode.NotFound, $"No endpoint matches GET {seen}.");
    }

    [Fact]
    public async Task OpenApiDocument_SaysWhichHeaderCarriesTheKey_AndWhereItIsNeeded()
    {
        using var client = new HttpClient { BaseAddress = _step.Gateway.BaseAddress };

        using var response = await client.GetAsync("/openapi/v1.json");

        var document = await Json.ReadAsync(response, HttpStatusCode.OK);
        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("ApiKey");
        Assert.Equal("apiKey", scheme.GetProperty("type").GetString());
        Assert.Equal("header", scheme.GetProperty("in").GetString());
        Assert.Equal("X-Api-Key", scheme.GetProperty("name").GetString());
        var overview = document.GetProperty("paths").GetProperty("/api/overview/{userId}").GetProperty("get");
        var requirement = Assert.Single(overview.GetProperty("security").EnumerateArray());
        Assert.Equal(["ApiKey"], requirement.EnumerateObject().Select(r => r.Name));
    }

    [Fact]
    public async Task GatewayHealth_AnswersWithoutAKey()
    {
        using var client = new HttpClient { BaseAddress = _step.Gateway.BaseAddress };

        using var response = await client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Overview_CombinesUserAndAccounts_AsJson()
    {
        var id = await CreateUserWithAccountsAsync(_step, 100m, 50.5m);

        using var response = await _step.Client.GetAsync($"/api/overview/{id}");

        Assert.Equal(JsonType, response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Accept", response.Headers.Vary);
        var overview = await Json.ReadAsync(response, HttpStatusCode.OK);
        var user = overview.GetProperty("user");
        Assert.Equal("Ada Lovelace", user.GetProperty("name").GetString());
        Assert.Equal(150.50m, user.GetProperty("balance").GetDecimal());
        Assert.Equal(2, user.GetProperty("accountCount").GetInt32());
        Assert.Equal([100.00m, 50.50m], overview.GetProperty("accounts").EnumerateArray().Select(a => a.GetProperty("balance").GetDecimal()));
        (await OpenApiContract.ReadAsync(_step.Client)).AssertLists("GET", "/api/overview/{userId}", response);
    }

    [Theory]
    [InlineData("application/xml")]
    [InlineData("text/xml")]
    [InlineData("application/json;q=0.5, application/xml")]
    [InlineData("text/html, application/xml;q=0.9, */*;q=0.8")]
    public async Task Overview_AnswersXml_WhenTheCallerPrefersIt(string accept)
    {
        var id = await CreateUserWithAccountsAsync(_step, 100m, 50.5m);

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/overview/{id}");
        request.Headers.TryAddWithoutValidation("Accept", accept);
        using var response = await _step.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/xml", response.Content.Headers.ContentType?.MediaType);
        var xml = XDocument.Parse(await response.Content.ReadAsStringAsync());
        var user = xml.Root!.Element("user")!;
        Assert.Equal(id.ToString(), user.Attribute("id")!.Value);
        Assert.Equal("Ada Lovelace", user.Element("name")!.Value);
        Assert.Equal("150.50", user.Element("balance")!.Value);
        Assert.Equal(["100.00", "50.50"], xml.Root.Element("accounts")!.Elements("account").Select(a => a.Element("balance")!.Value));
        (await OpenApiContract.ReadAsync(_step.Client)).AssertLists("GET", "/api/overview/{userId}", response);
    }

    [Fact]
    public async Task OpenApiDocument_DescribesTheOverviewXml_AsTheGatewayWritesIt()
    {
        var id = await CreateUserWithAccountsAsync(_step, 100m, 50.5m);
        using var json = await _step.Client.GetAsync($"/api/overview/{id}");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/overview/{id}");
        request.Headers.Accept.ParseAdd("application/xml");
        using var xml = await _step.Client.SendAsync(request);
        using var documentAnswer = await _step.Client.GetAsync("/openapi/v1.json");
        var document = await Json.ReadAsync(documentAnswer, HttpStatusCode.OK);

        // The schema of the XML answer, applied to the JSON answer: the XML a reader of the document expects.
        var schema = document.GetProperty("paths").GetProperty("/api/overview/{userId}").GetProperty("get")
            .GetProperty("responses").GetProperty("200").GetProperty("content").GetProperty("application/xml").GetProperty("schema");
        var expected = OpenApiXml.Describe(document, schema, await Json.ReadAsync(json, HttpStatusCode.OK));

        Assert.Equal(HttpStatusCode.OK, xml.StatusCode);
        Assert.Equal(expected.ToString(), XDocument.Parse(await xml.Content.ReadAsStringAsync()).Root!.ToString());
    }

    [Theory]
    [InlineData("*/*")]
    [InlineData("application/*")]
    [InlineData("application/xml;q=0.1, application/json")]
    public async Task Overview_AnswersJson_ForWildcardsAndJsonPreference(string accept)
    {
        var id = await CreateUserWithAccountsAsync(_step, 1m);

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/overview/{id}");
        request.Headers.TryAddWithoutValidation("Accept", accept);
        using var response = await _step.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(JsonType, response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Overview_Returns406_WhenNeitherJsonNorXmlIsAcceptable()
    {

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/overview/1");
        request.Headers.TryAddWithoutValidation("Accept", "text/csv");
        using var response = await _step.Client.SendAsync(request);

        var problem = await Problem.AssertAsync(response, HttpStatusCode.NotAcceptable);
        Assert.Equal("This endpoint answers application/json or application/xml, not 'text/csv'.", problem.GetProperty("detail").GetString());
        Assert.True(problem.TryGetProperty("traceId", out _), $"no traceId: {problem}");
        (await OpenApiContract.ReadAsync(_step.Client)).AssertLists("GET", "/api/overview/{userId}", response);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("99999999999")]
    public async Task Overview_Returns400NamingTheUserId_WhenItIsNotAWholeNumberThatFits(string userId)
    {
        using var response = await _step.Client.GetAsync($"/api/overview/{userId}");

        var problem = await Problem.AssertAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal($"'{userId}' is not a valid value for 'userId'.", problem.GetProperty("errors").GetProperty("userId")[0].GetString());
        (await OpenApiContract.ReadAsync(_step.Client)).AssertLists("GET", "/api/overview/{userId}", response);
    }

    [Fact]
    public async Task ProxiedRoutes_AnswerHead_AsTheServiceAnswersGet()
    {
        using var created = await _step.Client.PostAsync("/api/users", Json.Body("""{"name":"Ada Lovelace","email":"head@example.com"}"""));
        var id = (await Json.ReadAsync(created, HttpStatusCode.Created)).GetProperty("id").GetInt32();

        using var head = await _step.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/api/users/{id}"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("application/json", head.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Overview_Returns404FromUsers_WhenTheUserIsUnknown()
    {

        using var response = await _step.Client.GetAsync("/api/overview/777");

        var problem = await Problem.AssertAsync(response, HttpStatusCode.NotFound);
        Assert.Equal("There is no user with id 777.", problem.GetProperty("detail").GetString());
        (await OpenApiContract.ReadAsync(_step.Client)).AssertLists("GET", "/api/overview/{userId}", response);
    }

    /// <summary>
    /// Each stand-in answers only once the other has received its request. Called one after the other,
    /// the first call would wait for a second that never comes, and the overview would time out.
    /// </summary>

    [Fact]
    public async Task CorrelationId_CreatedAtTheGateway_ArrivesAtBothServices()
    {
        var id = await CreateUserWithAccountsAsync(_step, 10m);

        using var response = await _step.Client.GetAsync($"/api/overview/{id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var correlationId = Assert.Single(response.Headers.GetValues("X-Correlation-Id"));
        Assert.Matches("^[0-9a-f]{32}$", correlationId);
        await _step.Gateway.WaitForLogAsync($"GET /api/overview/{id} answered 200 in", TimeSpan.FromSeconds(5));
        // users got it from the gateway; accounts from the gateway and again from users.
        await _step.Users.WaitForLogAsync($"GET /users/{id} answered 200 in", TimeSpan.FromSeconds(5));
        Assert.Contains(_step.Users.Log, l => l.Contains($"GET /users/{id} answered 200", StringComparison.Ordinal) && l.EndsWith($"correlation id {correlationId}", StringComparison.Ordinal));
        await _step.Accounts.WaitForLogAsync($"correlation id {correlationId}", TimeSpan.FromSeconds(5));
        Assert.Equal(2, _step.Accounts.Log.Count(l => l.Contains($"GET /accounts?userId={id} answered 200", StringComparison.Ordinal) && l.EndsWith(correlationId, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task CorrelationId_SentByTheCaller_IsKeptEndToEnd()
    {
        var id = await CreateUserAsync(_step);

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/users/{id}");
        request.Headers.Add("X-Correlation-Id", "order-4711");
        using var response = await _step.Client.SendAsync(request);

        Assert.Equal("order-4711", Assert.Single(response.Headers.GetValues("X-Correlation-Id")));
        await _step.Gateway.WaitForLogAsync("correlation id order-4711", TimeSpan.FromSeconds(5));
        await _step.Users.WaitForLogAsync("correlation id order-4711", TimeSpan.FromSeconds(5));
        await _step.Accounts.WaitForLogAsync("correlation id order-4711", TimeSpan.FromSeconds(5));
    }

    [Theory]
    [InlineData("has spaces in it")]
    [InlineData("<script>")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123456789")]
    public async Task CorrelationId_ThatIsNotPlain_IsReplaced_NotEchoed(string unacceptable)
    {

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/users");
        request.Headers.TryAddWithoutValidation("X-Correlation-Id", unacceptable);
        using var response = await _step.Client.SendAsync(request);

        Assert.Matches("^[0-9a-f]{32}$", Assert.Single(response.Headers.GetValues("X-Correlation-Id")));
        Assert.DoesNotContain(_step.Gateway.Log.Concat(_step.Users.Log), l => l.Contains(unacceptable, StringComparison.Ordinal));
    }

    internal static async Task<int> CreateUserAsync(GatewayStep step)
    {
        var email = $"ada-{Guid.NewGuid():N}@example.com";
        using var created = await step.Client.PostAsync("/api/users", Json.Body($$"""{"name":"Ada Lovelace","email":"{{email}}"}"""));
        return (await Json.ReadAsync(created, HttpStatusCode.Created)).GetProperty("id").GetInt32();
    }

    internal static async Task<int> CreateUserWithAccountsAsync(GatewayStep step, params decimal[] balances)
    {
        var id = await CreateUserAsync(step);
        foreach (var balance in balances)
        {
            using var opened = await step.Client.PostAsync("/api/accounts", Json.Body(JsonSerializer.Serialize(new { userId = id, initialBalance = balance })));
            Assert.Equal(HttpStatusCode.Created, opened.StatusCode);
        }

        return id;
    }
}

/// <summary>The step the <see cref="GatewayTests"/> share.</summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    public GatewayStep Step { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Step = await GatewayStep.StartAsync();

    public ValueTask DisposeAsync() => Step.DisposeAsync();
}
