using System.Net;
using System.Text.Json;
using Workshop.Testing.Consul;
using Workshop.Testing.Tests.Infrastructure;
using static Workshop.Testing.Tests.Infrastructure.ConsulApi;

namespace Workshop.Testing.Tests;

/// <summary>The agent's and catalog's lists, the leader, and what every endpoint shares: methods, unknown paths, headers.</summary>
public sealed class AgentAndCatalogTests
{
    [Fact]
    public async Task AgentServices_ListsTheInstancesByServiceId_WithoutAnIndex()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Address":"127.0.0.1","Port":8002,"Tags":["v1"]}""");
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-2","Address":"127.0.0.1","Port":8012}""");

        using var response = await api.GetAsync("/v1/agent/services");

        var services = await JsonBodyAsync(response);
        Assert.Equal(["accounts-1", "accounts-2"], services.EnumerateObject().Select(p => p.Name));
        var first = services.GetProperty("accounts-1");
        Assert.Equal(("accounts-1", "accounts", "127.0.0.1", 8002), (
            first.GetProperty("ID").GetString(), first.GetProperty("Service").GetString(),
            first.GetProperty("Address").GetString(), first.GetProperty("Port").GetInt32()));
        Assert.Equal("dc1", first.GetProperty("Datacenter").GetString());
        Assert.False(response.Headers.Contains("X-Consul-Index"));
    }

    [Fact]
    public async Task AgentChecks_ListsTheChecksByCheckId()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Check":{"TTL":"30s","Status":"passing"}}""");

        var checks = await api.GetJsonAsync("/v1/agent/checks");

        var check = checks.GetProperty("service:accounts-1");
        Assert.Equal(("service:accounts-1", "passing", "accounts-1", "accounts"), (
            check.GetProperty("CheckID").GetString(), check.GetProperty("Status").GetString(),
            check.GetProperty("ServiceID").GetString(), check.GetProperty("ServiceName").GetString()));
        Assert.Single(checks.EnumerateObject());
    }

    [Fact]
    public async Task CatalogServices_ListsTheNamesWithTheirTags_AndConsulItself()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Tags":["v1"]}""");
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-2","Tags":["v2","v1"]}""");
        await api.RegisterAsync("""{"Name":"users","ID":"users-1"}""");

        using var response = await api.GetAsync("/v1/catalog/services");

        var services = await JsonBodyAsync(response);
        Assert.Equal("""{"accounts":["v1","v2"],"consul":[],"users":[]}""", JsonSerializer.Serialize(services));
        Assert.True(IndexOf(response) >= 1);
    }

    [Fact]
    public async Task StatusLeader_AnswersTheLeadersAddress_AsAJsonString()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);

        var leader = await api.GetJsonAsync("/v1/status/leader");

        Assert.Equal(JsonValueKind.String, leader.ValueKind);
        Assert.Equal("127.0.0.1:8300", leader.GetString());
    }

    [Theory]
    [InlineData("GET", "/v1/agent/service/register", "OPTIONS,PUT")]
    [InlineData("POST", "/v1/agent/service/deregister/accounts-1", "OPTIONS,PUT")]
    [InlineData("GET", "/v1/agent/check/pass/service:accounts-1", "OPTIONS,PUT")]
    [InlineData("PUT", "/v1/health/service/accounts", "OPTIONS,GET")]
    [InlineData("DELETE", "/v1/catalog/services", "OPTIONS,GET")]
    [InlineData("HEAD", "/v1/status/leader", "OPTIONS,GET")]
    public async Task WrongMethod_Returns405_WithAnAllowHeader(string method, string path, string allow)
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);

        using var response = await api.Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(allow, string.Join(",", response.Content.Headers.Allow));
        if (method != "HEAD")
        {
            await AssertTextAsync(response, HttpStatusCode.MethodNotAllowed, $"method {method} not allowed");
        }
    }

    [Fact]
    public async Task Options_AnswersAllow_WithoutABody()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);

        using var response = await api.Http.SendAsync(new HttpRequestMessage(HttpMethod.Options, "/v1/agent/service/register"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("OPTIONS,PUT", string.Join(",", response.Content.Headers.Allow));
        Assert.Equal("", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/v1/agent/service/unknown")]
    [InlineData("/v1/agent/services/accounts")]
    [InlineData("/v1/kv/config")]
    public async Task UnknownApiPath_Returns404_InvalidUrlPath(string path)
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);

        using var response = await api.GetAsync(path);

        await AssertTextAsync(response, HttpStatusCode.NotFound, "Invalid URL path: not a recognized HTTP API endpoint");
    }

    [Fact]
    public async Task EveryAnswer_CarriesTheDefaultAclPolicy()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);

        using var write = await api.PutAsync("/v1/agent/service/register", """{"Name":"accounts"}""");
        using var read = await api.GetAsync("/v1/agent/services");
        using var refusal = await api.PutAsync("/v1/agent/service/deregister/nobody");

        Assert.All(new[] { write, read, refusal }, r => Assert.Equal("allow", Header(r, "X-Consul-Default-ACL-Policy")));
    }
}
