using System.Net;
using System.Text.Json;
using Workshop.Testing.Consul;
using Workshop.Testing.Tests.Infrastructure;
using static Workshop.Testing.Tests.Infrastructure.ConsulApi;

namespace Workshop.Testing.Tests;

/// <summary><c>GET /v1/health/service/{name}</c>: the shape of its answer, its headers, <c>?passing</c> and <c>?tag</c>.</summary>
public sealed class HealthServiceTests
{
    [Fact]
    public async Task HealthService_AnswersPascalCaseJson_WithNodeServiceAndChecks()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Address":"127.0.0.1","Port":8002,"Tags":["v1"],"Meta":{"version":"1"},"Check":{"TTL":"30s","Status":"passing","Notes":"ready when the database is"}}""");

        var entry = Assert.Single((await api.GetJsonAsync("/v1/health/service/accounts")).EnumerateArray());

        Assert.Equal(["Node", "Service", "Checks"], entry.EnumerateObject().Select(p => p.Name));
        var node = entry.GetProperty("Node");
        Assert.Equal(("consul", "127.0.0.1", "dc1"), (node.GetProperty("Node").GetString(), node.GetProperty("Address").GetString(), node.GetProperty("Datacenter").GetString()));
        Assert.True(Guid.TryParse(node.GetProperty("ID").GetString(), out _));

        var service = entry.GetProperty("Service");
        Assert.Equal("accounts-1", service.GetProperty("ID").GetString());
        Assert.Equal("accounts", service.GetProperty("Service").GetString());
        Assert.Equal("127.0.0.1", service.GetProperty("Address").GetString());
        Assert.Equal(8002, service.GetProperty("Port").GetInt32());
        Assert.Equal(["v1"], service.GetProperty("Tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("1", service.GetProperty("Meta").GetProperty("version").GetString());
        Assert.Equal(1, service.GetProperty("Weights").GetProperty("Passing").GetInt32());
        Assert.Equal("127.0.0.1", service.GetProperty("TaggedAddresses").GetProperty("lan_ipv4").GetProperty("Address").GetString());

        var checks = entry.GetProperty("Checks").EnumerateArray().ToList();
        Assert.Equal(["serfHealth", "service:accounts-1"], checks.Select(c => c.GetProperty("CheckID").GetString()));
        var serf = checks[0];
        Assert.Equal(("Serf Health Status", "passing", ""), (serf.GetProperty("Name").GetString(), serf.GetProperty("Status").GetString(), serf.GetProperty("ServiceID").GetString()));
        var own = checks[1];
        Assert.Equal("passing", own.GetProperty("Status").GetString());
        Assert.Equal("accounts-1", own.GetProperty("ServiceID").GetString());
        Assert.Equal("accounts", own.GetProperty("ServiceName").GetString());
        Assert.Equal("ttl", own.GetProperty("Type").GetString());
        Assert.Equal("ready when the database is", own.GetProperty("Notes").GetString());
        Assert.Equal("consul", own.GetProperty("Node").GetString());
        Assert.Equal(["v1"], own.GetProperty("ServiceTags").EnumerateArray().Select(t => t.GetString()));
    }

    [Fact]
    public async Task HealthService_WritesOnlyPascalCaseNames()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","Address":"127.0.0.1","Port":8002,"Check":{"TTL":"30s"}}""");

        var answer = await api.GetJsonAsync("/v1/health/service/accounts");

        // Every field name starts with a capital, except the keys of maps (lan_ipv4, consul-version).
        var maps = new[] { "TaggedAddresses", "Meta" };
        IEnumerable<string> Names(JsonElement element, string parent) => element.ValueKind switch
        {
            JsonValueKind.Object => element.EnumerateObject().SelectMany(p =>
                (maps.Contains(parent) ? [] : new[] { p.Name }).Concat(Names(p.Value, p.Name))),
            JsonValueKind.Array => element.EnumerateArray().SelectMany(e => Names(e, parent)),
            _ => [],
        };
        Assert.All(Names(answer, ""), name => Assert.True(char.IsUpper(name[0]), name));
    }

    [Fact]
    public async Task HealthService_OfAnUnknownService_AnswersAnEmptyArray()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);

        using var response = await api.GetAsync("/v1/health/service/nobody");

        var body = await JsonBodyAsync(response);
        Assert.Equal(JsonValueKind.Array, body.ValueKind);
        Assert.Equal(0, body.GetArrayLength());
    }

    [Fact]
    public async Task HealthService_CarriesTheIndexAndLeaderHeaders()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);

        using var response = await api.GetAsync("/v1/health/service/accounts");

        Assert.True(IndexOf(response) >= 1);
        Assert.Equal("true", Header(response, "X-Consul-KnownLeader"));
        Assert.Equal("0", Header(response, "X-Consul-LastContact"));
        Assert.Equal("leader", Header(response, "X-Consul-Effective-Consistency"));
        Assert.Equal("allow", Header(response, "X-Consul-Default-ACL-Policy"));
    }

    [Fact]
    public async Task HealthService_Stale_SaysSo_AndStaleWithConsistent_Returns400()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);

        using var stale = await api.GetAsync("/v1/health/service/accounts?stale");
        using var both = await api.GetAsync("/v1/health/service/accounts?stale&consistent");

        Assert.Equal("stale", Header(stale, "X-Consul-Effective-Consistency"));
        await AssertTextAsync(both, HttpStatusCode.BadRequest, "Cannot specify ?stale with ?consistent, conflicting semantics.");
    }

    [Theory]
    [InlineData("?passing", new[] { "accounts-1" })]
    [InlineData("?passing=true", new[] { "accounts-1" })]
    [InlineData("?passing=1", new[] { "accounts-1" })]
    [InlineData("?passing=false", new[] { "accounts-1", "accounts-2", "accounts-3" })]
    [InlineData("", new[] { "accounts-1", "accounts-2", "accounts-3" })]
    public async Task HealthService_Passing_ExcludesWarningAndCritical(string query, string[] expected)
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Check":{"TTL":"30s","Status":"passing"}}""");
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-2","Check":{"TTL":"30s","Status":"warning"}}""");
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-3","Check":{"TTL":"30s"}}""");

        var answer = await api.GetJsonAsync($"/v1/health/service/accounts{query}");

        Assert.Equal(expected, answer.EnumerateArray().Select(e => e.GetProperty("Service").GetProperty("ID").GetString()));
    }

    [Fact]
    public async Task HealthService_Passing_ExcludesAnInstanceWithOneFailingCheckOfTwo()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Checks":[{"TTL":"30s","Status":"passing"},{"TTL":"30s","Status":"critical"}]}""");

        var answer = await api.GetJsonAsync("/v1/health/service/accounts?passing");

        Assert.Equal(0, answer.GetArrayLength());
        Assert.Empty(consul.Registry.Passing("accounts"));
    }

    [Fact]
    public async Task HealthService_InvalidPassing_Returns400()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);

        using var response = await api.GetAsync("/v1/health/service/accounts?passing=yes");

        await AssertTextAsync(response, HttpStatusCode.BadRequest, "Invalid value for ?passing");
    }

    [Fact]
    public async Task HealthService_Tag_KeepsTheInstancesWithTheTag()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Tags":["v1"]}""");
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-2","Tags":["v2"]}""");

        var answer = await api.GetJsonAsync("/v1/health/service/accounts?tag=v2");

        Assert.Equal(["accounts-2"], answer.EnumerateArray().Select(e => e.GetProperty("Service").GetProperty("ID").GetString()));
    }

    [Fact]
    public async Task HealthService_InstanceWithoutPortOrAddress_LeavesPortOut_AndHasAnEmptyAddress()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts"}""");

        var entry = Assert.Single((await api.GetJsonAsync("/v1/health/service/accounts")).EnumerateArray());

        var service = entry.GetProperty("Service");
        Assert.False(service.TryGetProperty("Port", out _));
        Assert.Equal("", service.GetProperty("Address").GetString());
        Assert.Equal(JsonValueKind.Array, service.GetProperty("Tags").ValueKind);
        // A client then uses the node's address.
        Assert.Equal("127.0.0.1", entry.GetProperty("Node").GetProperty("Address").GetString());
    }
}
