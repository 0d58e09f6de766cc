using System.Net;
using System.Text.Json;

namespace IntegrationTests;

[Lesson("01-starter")]
public sealed class UsersApiTests(UsersFixture fixture) : IClassFixture<UsersFixture>
{
    private readonly HttpClient _client = fixture.Client;

    private static string UniqueEmail() => $"user-{Guid.NewGuid():N}@example.com";

    [Fact]
    public async Task CreateUser_ReturnsCreatedUser_WithItsLocation()
    {
        var email = UniqueEmail();
        using var response = await _client.PostAsync("/users", Json.Body($$"""{"name":"Ada Lovelace","email":"{{email}}"}"""));

        var user = await Json.ReadAsync(response, HttpStatusCode.Created);
        var id = user.GetProperty("id").GetInt32();
        Assert.Equal("Ada Lovelace", user.GetProperty("name").GetString());
        Assert.Equal(email, user.GetProperty("email").GetString());
        Assert.Equal($"/users/{id}", response.Headers.Location?.OriginalString);

        using var get = await _client.GetAsync($"/users/{id}");
        var stored = await Json.ReadAsync(get, HttpStatusCode.OK);
        Assert.Equal(id, stored.GetProperty("id").GetInt32());
        Assert.Equal("Ada Lovelace", stored.GetProperty("name").GetString());
        Assert.Equal(email, stored.GetProperty("email").GetString());
    }

    [Fact]
    public async Task CreateUser_TrimsNameAndEmail()
    {
        var email = UniqueEmail();
        using var response = await _client.PostAsync("/users", Json.Body($$"""{"name":"  Grace Hopper  ","email":" {{email}} "}"""));

        var user = await Json.ReadAsync(response, HttpStatusCode.Created);
        Assert.Equal("Grace Hopper", user.GetProperty("name").GetString());
        Assert.Equal(email, user.GetProperty("email").GetString());
    }

    [Fact]
    public async Task ListUsers_ContainsCreatedUsers_InCreationOrder()
    {
        var first = await CreateAsync("First", UniqueEmail());
        var second = await CreateAsync("Second", UniqueEmail());

        using var response = await _client.GetAsync("/users");
        var ids = (await Json.ReadAsync(response, HttpStatusCode.OK)).EnumerateArray().Select(u => u.GetProperty("id").GetInt32()).ToList();

        Assert.True(ids.IndexOf(first) >= 0 && ids.IndexOf(first) < ids.IndexOf(second), $"expected {first} before {second} in [{string.Join(',', ids)}]");
    }

    [Fact]
    public async Task UpdateUser_RenamesTheUser()
    {
        var email = UniqueEmail();
        var id = await CreateAsync("Alan", email);

        using var put = await _client.PutAsync($"/users/{id}", Json.Body($$"""{"name":"Alan Turing","email":"{{email}}"}"""));
        Assert.Equal("Alan Turing", (await Json.ReadAsync(put, HttpStatusCode.OK)).GetProperty("name").GetString());

        using var get = await _client.GetAsync($"/users/{id}");
        Assert.Equal("Alan Turing", (await Json.ReadAsync(get, HttpStatusCode.OK)).GetProperty("name").GetString());
    }

    [Fact]
    public async Task GetUser_Returns404ProblemDetails_WhenIdIsUnknown()
    {
        using var response = await _client.GetAsync("/users/999999");

        var problem = await Problem.AssertAsync(response, HttpStatusCode.NotFound);
        Assert.Contains("999999", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task UpdateUser_Returns404_WhenIdIsUnknown()
    {
        using var response = await _client.PutAsync("/users/999999", Json.Body("""{"name":"Nobody","email":"nobody@example.com"}"""));
        await Problem.AssertAsync(response, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task CreateUser_Returns409_WhenEmailIsTaken_IgnoringCase()
    {
        var email = UniqueEmail();
        await CreateAsync("Original", email);

        using var response = await _client.PostAsync("/users", Json.Body($$"""{"name":"Copy","email":"{{email.ToUpperInvariant()}}"}"""));
        await Problem.AssertAsync(response, HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task UpdateUser_Returns409_WhenEmailBelongsToAnotherUser()
    {
        var taken = UniqueEmail();
        await CreateAsync("Owner", taken);
        var id = await CreateAsync("Other", UniqueEmail());

        using var response = await _client.PutAsync($"/users/{id}", Json.Body($$"""{"name":"Other","email":"{{taken}}"}"""));
        await Problem.AssertAsync(response, HttpStatusCode.Conflict);
    }

    public static TheoryData<string, string> BadBodies => new()
    {
        { """{"email":"a@example.com"}""", "name" },
        { """{"name":"","email":"a@example.com"}""", "name" },
        { """{"name":"   ","email":"a@example.com"}""", "name" },
        { $$"""{"name":"{{new string('x', 101)}}","email":"a@example.com"}""", "name" },
        { """{"name":42,"email":"a@example.com"}""", "name" },
        { """{"name":"Ada\nLovelace","email":"a@example.com"}""", "name" },
        { """{"name":"Ada\u0000","email":"a@example.com"}""", "name" },
        { """{"name":"Ada"}""", "email" },
        { """{"name":"Ada","email":"not-an-email"}""", "email" },
        { """{"name":"Ada","email":"Ada <ada@example.com>"}""", "email" },
        { """{"nmae":"Ada","email":"a@example.com"}""", "nmae" },
        { """{"name":"Ada","email":"a@example.com""", "body" },
        { """["Ada"]""", "body" },
        { "", "body" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task CreateUser_Returns400NamingTheField_WhenInputIsBad(string body, string field)
    {
        using var response = await _client.PostAsync("/users", Json.Body(body));
        await Problem.AssertFieldAsync(response, field);
    }

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task UpdateUser_Returns400AndKeepsTheUser_WhenInputIsBad(string body, string field)
    {
        var email = UniqueEmail();
        var id = await CreateAsync("Kept", email);

        using var response = await _client.PutAsync($"/users/{id}", Json.Body(body));
        await Problem.AssertFieldAsync(response, field);

        using var get = await _client.GetAsync($"/users/{id}");
        var user = await Json.ReadAsync(get, HttpStatusCode.OK);
        Assert.Equal("Kept", user.GetProperty("name").GetString());
        Assert.Equal(email, user.GetProperty("email").GetString());
    }

    [Fact]
    public async Task CreateUser_Returns415_WhenBodyIsNotJson()
    {
        using var response = await _client.PostAsync("/users", new StringContent("name=Ada", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));
        var problem = await Problem.AssertAsync(response, HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("application/json", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task CreateUser_Returns413_WhenBodyIsOversized()
    {
        var huge = $$"""{"name":"{{new string('x', 64 * 1024)}}","email":"a@example.com"}""";
        using var response = await _client.PostAsync("/users", Json.Body(huge));
        await Problem.AssertAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task UnknownRouteAndMethod_AnswerWithProblemDetailsSayingWhy()
    {
        // ServiceDefaults writes these details, the same for every service: users stands for all.
        using var noSuchPath = await _client.GetAsync("/users/1/friends");
        await Problem.AssertDetailAsync(noSuchPath, HttpStatusCode.NotFound, "No endpoint matches GET /users/1/friends.");

        using var delete = await _client.DeleteAsync("/users/1");
        await Problem.AssertDetailAsync(delete, HttpStatusCode.MethodNotAllowed, "DELETE is not allowed on /users/1; it takes GET, PUT.");
        Assert.Equal(["GET", "PUT"], delete.Content.Headers.Allow);
    }

    [Theory]
    [InlineData("GET", "/users/abc", "abc")]
    [InlineData("GET", "/users/99999999999", "99999999999")]
    [InlineData("PUT", "/users/0x10", "0x10")]
    public async Task AnyRoute_Returns400NamingTheId_WhenItIsNotAWholeNumberThatFits(string method, string path, string id)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = method == "PUT" ? Json.Body($$"""{"name":"Ada","email":"{{UniqueEmail()}}"}""") : null,
        };
        using var response = await _client.SendAsync(request);
        var problem = await Problem.AssertAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal($"'{id}' is not a valid value for 'id'.", problem.GetProperty("errors").GetProperty("id")[0].GetString());
    }

    [Fact]
    public async Task Head_AnswersAsGetWould_WithoutTheBody()
    {
        // HTTP's HEAD is a GET without the body (RFC 9110): same status, same headers.
        var id = await CreateAsync("Ada Lovelace", UniqueEmail());
        using var get = await _client.GetAsync($"/users/{id}");
        using var head = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/users/{id}"));

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(get.Content.Headers.ContentType?.MediaType, head.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());

        using var unknown = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/users/987654"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await unknown.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task OversizedRequestLineOrHeaders_AreRefusedWith414Or431_BeforeTheServiceSeesThem()
    {
        // Kestrel refuses these while reading the request, before any middleware runs, so they carry
        // its status and no ProblemDetails body; what matters to a caller is the status, never a 500.
        using var longUrl = await _client.GetAsync("/users?filter=" + new string('x', 10 * 1024));
        Assert.Equal(HttpStatusCode.RequestUriTooLong, longUrl.StatusCode);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/users");
        request.Headers.TryAddWithoutValidation("X-Big", new string('y', 40 * 1024));
        using var bigHeaders = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, bigHeaders.StatusCode);
    }

    public static TheoryData<string, string, string?, HttpStatusCode> ErrorRequests => new()
    {
        { "GET", "/users/999999", null, HttpStatusCode.NotFound },
        { "GET", "/users/abc", null, HttpStatusCode.BadRequest },
        { "GET", "/users/1/friends", null, HttpStatusCode.NotFound },
        { "DELETE", "/users/1", null, HttpStatusCode.MethodNotAllowed },
        { "POST", "/users", """{"name":""", HttpStatusCode.BadRequest },
        { "POST", "/users", """{"name":"","email":"a@example.com"}""", HttpStatusCode.BadRequest },
    };

    [Theory]
    [MemberData(nameof(ErrorRequests))]
    public async Task ErrorAnswers_AreTheSameProblemDetails_WhateverTheCallerAccepts(string method, string path, string? body, HttpStatusCode status)
    {
        // A caller may accept only HTML, or only XML. ServiceDefaults answers it with the ProblemDetails
        // a JSON caller gets; only the traceId differs.
        var forJson = await SendAsync(method, path, body, "application/json", status);
        foreach (var accept in new[] { "text/html", "application/xml", "text/csv" })
        {
            var answer = await SendAsync(method, path, body, accept, status);
            Assert.Equal(forJson.ToJsonString(), answer.ToJsonString());
        }
    }

    private async Task<System.Text.Json.Nodes.JsonObject> SendAsync(string method, string path, string? body, string accept, HttpStatusCode status)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = body is null ? null : Json.Body(body) };
        request.Headers.TryAddWithoutValidation("Accept", accept);
        using var response = await _client.SendAsync(request);

        var problem = System.Text.Json.Nodes.JsonNode.Parse((await Problem.AssertAsync(response, status)).GetRawText())!.AsObject();
        Assert.True(problem.Remove("traceId", out var traceId) && !string.IsNullOrEmpty(traceId?.GetValue<string>()), $"no traceId for Accept: {accept}");
        Assert.True(problem.ContainsKey("detail") || problem.ContainsKey("errors"), $"nothing says what is wrong for Accept: {accept}: {problem}");
        return problem;
    }

    [Fact]
    public async Task OpenApiDocument_ListsEveryAnswerOfTheUsersEndpoints()
    {
        var email = UniqueEmail();
        var taken = UniqueEmail();
        var id = await CreateAsync("Ada Lovelace", email);
        await CreateAsync("Grace Hopper", taken);
        var contract = await OpenApiContract.ReadAsync(_client);

        (string Method, string Path, string Operation, string? Body, HttpStatusCode Status)[] calls =
        [
            ("GET", "/users", "/users", null, HttpStatusCode.OK),
            ("POST", "/users", "/users", $$"""{"name":"Alan Turing","email":"{{UniqueEmail()}}"}""", HttpStatusCode.Created),
            ("POST", "/users", "/users", """{"name":""}""", HttpStatusCode.BadRequest),
            ("POST", "/users", "/users", $$"""{"name":"Ada","email":"{{taken}}"}""", HttpStatusCode.Conflict),
            ("GET", $"/users/{id}", "/users/{id}", null, HttpStatusCode.OK),
            ("GET", "/users/987654", "/users/{id}", null, HttpStatusCode.NotFound),
            ("GET", "/users/99999999999", "/users/{id}", null, HttpStatusCode.BadRequest),
            ("PUT", $"/users/{id}", "/users/{id}", $$"""{"name":"Ada King","email":"{{email}}"}""", HttpStatusCode.OK),
            ("PUT", $"/users/{id}", "/users/{id}", """{"name":"Ada King"}""", HttpStatusCode.BadRequest),
            ("PUT", $"/users/{id}", "/users/{id}", $$"""{"name":"Ada King","email":"{{taken}}"}""", HttpStatusCode.Conflict),
            ("PUT", "/users/987654", "/users/{id}", $$"""{"name":"Nobody","email":"{{UniqueEmail()}}"}""", HttpStatusCode.NotFound),
        ];
        await contract.AssertListsTheAnswersAsync(_client, calls);
    }

    private async Task<int> CreateAsync(string name, string email)
    {
        using var response = await _client.PostAsync("/users", Json.Body(JsonSerializer.Serialize(new { name, email })));
        return (await Json.ReadAsync(response, HttpStatusCode.Created)).GetProperty("id").GetInt32();
    }
}
