using System.Diagnostics;
using System.Net;

namespace IntegrationTests;

/// <summary>The gateway's routes and keys live in configuration: YARP applies an edited route while it runs, and keys add up across sources.</summary>
[Lesson("03-api-gateway")]
public sealed class GatewayConfigurationTests
{
    [Fact]
    public async Task EditedRoute_TakesEffect_WithoutARestart()
    {
        using var contentRoot = new TempDirectory();
        var appsettings = contentRoot.File("appsettings.json");
        File.Copy(Path.Combine(StepPaths.ProjectDirectory("Gateway"), "appsettings.json"), appsettings);
        await using var users = StandInServer.Answering("200 OK", "application/json", "[]");
        await using var gateway = await ServiceProcess.StartAsync("Gateway", new Dictionary<string, string>
        {
            // The stand-in counts what it gets: the gateway's own probes of /health/ready stay out of it.
            ["ReverseProxy__Clusters__users__HealthCheck__Active__Enabled"] = "false",
            ["ASPNETCORE_CONTENTROOT"] = contentRoot.Path,
            ["ApiKey__Keys__0"] = GatewayStep.TestApiKey,
            ["ReverseProxy__Clusters__users__Destinations__primary__Address"] = users.BaseAddress.ToString(),
        });
        using var client = new HttpClient { BaseAddress = gateway.BaseAddress };
        client.DefaultRequestHeaders.Add("X-Api-Key", GatewayStep.TestApiKey);

        using (var before = await client.GetAsync("/api/people"))
        {
            Assert.Equal(HttpStatusCode.NotFound, before.StatusCode);
        }

        var text = await File.ReadAllTextAsync(appsettings);
        Assert.Contains("\"/api/users/{**rest}\"", text);
        await File.WriteAllTextAsync(appsettings, text.Replace("\"/api/users/{**rest}\"", "\"/api/people/{**rest}\""));

        var watch = Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            await Task.Delay(200);
            using var after = await client.GetAsync("/api/people");
            status = after.StatusCode;
        }
        while (status != HttpStatusCode.OK && watch.Elapsed < TimeSpan.FromSeconds(20));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("GET /people HTTP/1.1", users.Requests.Last());
        using var old = await client.GetAsync("/api/users");
        Assert.Equal(HttpStatusCode.NotFound, old.StatusCode);
    }

    [Fact]
    public async Task EditedAddressThatIsNotOne_IsRefused_AndTheGatewayKeepsItsRoutes()
    {
        using var contentRoot = new TempDirectory();
        var appsettings = contentRoot.File("appsettings.json");
        await using var users = StandInServer.Answering("200 OK", "application/json", "[]");
        var shipped = await File.ReadAllTextAsync(Path.Combine(StepPaths.ProjectDirectory("Gateway"), "appsettings.json"));
        Assert.Contains("\"http://users\"", shipped);
        // The address in the file, not in the environment, which would win over any edit.
        await File.WriteAllTextAsync(appsettings, shipped.Replace("\"http://users\"", $"\"{users.BaseAddress}\""));
        await using var gateway = await ServiceProcess.StartAsync("Gateway", new Dictionary<string, string>
        {
            ["ReverseProxy__Clusters__users__HealthCheck__Active__Enabled"] = "false",
            ["ASPNETCORE_CONTENTROOT"] = contentRoot.Path,
            ["ApiKey__Keys__0"] = GatewayStep.TestApiKey,
        });
        using var client = new HttpClient { BaseAddress = gateway.BaseAddress };
        client.DefaultRequestHeaders.Add("X-Api-Key", GatewayStep.TestApiKey);

        await File.WriteAllTextAsync(appsettings, shipped.Replace("\"http://users\"", "\"localhost:8001\""));

        await gateway.WaitForLogAsync("ReverseProxy:Clusters:users:Destinations:primary:Address is 'localhost:8001'", TimeSpan.FromSeconds(20));
        using var response = await client.GetAsync("/api/users");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("GET /users HTTP/1.1", users.Requests.Last());
    }

    [Fact]
    public async Task SecondKeyFromTheEnvironment_WorksNextToTheDevelopmentKey()
    {
        // As the README's "Add a second key": ApiKey__Keys__1=another-key ./workshop up 03, where
        // appsettings.Development.json holds key 0 (workshop-dev-key) and the environment adds key 1.
        await using var users = StandInServer.Answering("200 OK", "application/json", "[]");
        await using var gateway = await ServiceProcess.StartAsync("Gateway", new Dictionary<string, string>
        {
            ["ReverseProxy__Clusters__users__HealthCheck__Active__Enabled"] = "false",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["ApiKey__Keys__1"] = "another-key",
            ["ReverseProxy__Clusters__users__Destinations__primary__Address"] = users.BaseAddress.ToString(),
        });
        using var client = new HttpClient { BaseAddress = gateway.BaseAddress };

        foreach (var (key, expected) in new[] { ("workshop-dev-key", HttpStatusCode.OK), ("another-key", HttpStatusCode.OK), ("third-key", HttpStatusCode.Unauthorized) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/users");
            request.Headers.Add("X-Api-Key", key);
            using var response = await client.SendAsync(request);
            Assert.True(expected == response.StatusCode, $"key '{key}': expected {(int)expected}, got {(int)response.StatusCode}");
        }

        Assert.Equal(2, users.Requests.Count);
    }

    [Fact]
    public async Task ConfiguredHeaderName_CarriesTheKey_WhichNoRouteForwards()
    {
        // ApiKey:HeaderName names the header; a route added without any transform (as an attendee
        // might add one) must not pass the key on either.
        await using var users = StandInServer.Answering("200 OK", "application/json", "[]");
        await using var gateway = await ServiceProcess.StartAsync("Gateway", new Dictionary<string, string>
        {
            ["ReverseProxy__Clusters__users__HealthCheck__Active__Enabled"] = "false",
            ["ApiKey__Keys__0"] = GatewayStep.TestApiKey,
            ["ApiKey__HeaderName"] = "X-Workshop-Key",
            ["ReverseProxy__Clusters__users__Destinations__primary__Address"] = users.BaseAddress.ToString(),
            ["ReverseProxy__Routes__people-route__ClusterId"] = "users",
            ["ReverseProxy__Routes__people-route__AuthorizationPolicy"] = "default",
            ["ReverseProxy__Routes__people-route__Match__Path"] = "/people/{**rest}",
        });
        using var client = new HttpClient { BaseAddress = gateway.BaseAddress };

        foreach (var path in new[] { "/api/users", "/people" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("X-Workshop-Key", GatewayStep.TestApiKey);
            using var response = await client.SendAsync(request);
            Assert.True(HttpStatusCode.OK == response.StatusCode, $"{path}: expected 200, got {(int)response.StatusCode}");

            var forwarded = users.Requests.Last();
            Assert.DoesNotContain("X-Workshop-Key", forwarded, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(GatewayStep.TestApiKey, forwarded);
        }

        // The default header is no longer the one: the refusal and the OpenAPI document name the configured one.
        using var oldHeader = new HttpRequestMessage(HttpMethod.Get, "/api/users");
        oldHeader.Headers.Add("X-Api-Key", GatewayStep.TestApiKey);
        using var refused = await client.SendAsync(oldHeader);
        await Problem.AssertDetailAsync(refused, HttpStatusCode.Unauthorized, "Send an API key in the X-Workshop-Key header.");
        Assert.Equal("ApiKey header=\"X-Workshop-Key\"", refused.Headers.WwwAuthenticate.ToString());

        using var document = await client.GetAsync("/openapi/v1.json");
        var scheme = (await Json.ReadAsync(document, HttpStatusCode.OK)).GetProperty("components").GetProperty("securitySchemes").GetProperty("ApiKey");
        Assert.Equal("X-Workshop-Key", scheme.GetProperty("name").GetString());
        Assert.Equal(2, users.Requests.Count);
    }
}
