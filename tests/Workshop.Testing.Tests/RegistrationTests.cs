using System.Net;
using Workshop.Testing.Consul;
using Workshop.Testing.Tests.Infrastructure;
using static Workshop.Testing.Tests.Infrastructure.ConsulApi;

namespace Workshop.Testing.Tests;

/// <summary><c>PUT /v1/agent/service/register</c> and <c>/deregister/{id}</c>, as Consul documents them.</summary>
public sealed class RegistrationTests
{
    private const string Accounts = """{"Name":"accounts","ID":"accounts-1","Address":"127.0.0.1","Port":8002,"Tags":["v1"],"Meta":{"version":"1"}}""";

    [Fact]
    public async Task Register_ReturnsEmpty200_WithoutContentType()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);

        using var response = await api.PutAsync("/v1/agent/service/register", Accounts);

        await AssertEmptyOkAsync(response);
        var service = Assert.Single(consul.Registry.Services);
        Assert.Equal(("accounts-1", "accounts", "127.0.0.1", 8002), (service.Id, service.Name, service.Address, service.Port));
        Assert.Equal(["v1"], service.Tags);
        Assert.Equal("1", service.Meta["version"]);
    }

    [Theory]
    [InlineData("""{"ID":"accounts-1","Port":8002}""", "Missing service name")]
    [InlineData("""{"Name":"accounts","Address":"0.0.0.0"}""", "Invalid service address")]
    [InlineData("""{"Name":"accounts","Address":"::"}""", "Invalid service address")]
    [InlineData("""{"Name":"accounts","Check":{"TTL":"10s","Status":"healthy"}}""", "Status for checks must 'passing', 'warning', 'critical'")]
    [InlineData("""{"Name":"accounts","Check":{"HTTP":"http://127.0.0.1:8002/health"}}""", "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP or UDP checks")]
    [InlineData("""{"Name":"accounts","Check":{"Notes":"no kind"}}""", "Invalid check: TTL must be > 0 for TTL checks")]
    [InlineData("""{"Name":"accounts","Check":{"TTL":"10s","Interval":"10s"}}""", "Invalid check: Interval and TTL cannot both be specified")]
    [InlineData("""{"Name":"accounts","Meta":{"a b":"c"}}""", "Invalid Service Meta: Couldn't load metadata pair ('a b', 'c'): Key contains invalid characters")]
    [InlineData("", "Request decode failed: EOF")]
    [InlineData("""{"Name":"accounts","Port":"8002"}""", "Request decode failed: json: cannot unmarshal string into Go struct field ServiceDefinition.Port of type int")]
    [InlineData("""{"Name":"accounts","Check":{"TTL":"soon"}}""", "Request decode failed: time: invalid duration \"soon\"")]
    public async Task Register_RefusesABadDefinition_With400AndConsulsText(string body, string reason)
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);

        using var response = await api.PutAsync("/v1/agent/service/register", body);

        await AssertTextAsync(response, HttpStatusCode.BadRequest, reason);
        Assert.Empty(consul.Registry.Services);
    }

    [Fact]
    public async Task Register_WithABodyThatIsNotJson_Returns400RequestDecodeFailed()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);

        using var response = await api.PutAsync("/v1/agent/service/register", "Name=accounts");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(PlainText, response.Content.Headers.ContentType?.ToString());
        Assert.StartsWith("Request decode failed: ", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Register_ReadsFieldNames_WhateverTheirCase_AndInSnakeCase()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);

        await api.RegisterAsync("""{"name":"accounts","id":"accounts-1","PORT":8002,"check":{"check_id":"ready","ttl":"10s","deregister_critical_service_after":"90s"}}""");

        var service = Assert.Single(consul.Registry.Services);
        Assert.Equal(("accounts-1", "accounts", 8002), (service.Id, service.Name, service.Port));
        var check = Assert.Single(service.Checks);
        Assert.Equal(("ready", TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(90)), (check.CheckId, check.Ttl, check.DeregisterCriticalServiceAfter));
    }

    [Fact]
    public async Task Register_WithoutId_UsesTheNameAsId()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);

        await api.RegisterAsync("""{"Name":"accounts","Port":8002}""");

        Assert.Equal("accounts", Assert.Single(consul.Registry.Services).Id);
    }

    [Fact]
    public async Task Register_NewCheck_StartsCritical_UnlessItsStatusIsGiven()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);

        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Check":{"TTL":"30s"}}""");
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-2","Check":{"TTL":"30s","Status":"passing"}}""");
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-3","Check":{"TTL":"30s","Status":"warning"}}""");

        var registry = consul.Registry;
        Assert.Equal(CheckStatus.Critical, registry.Find("accounts-1")!.Status);
        Assert.Equal(CheckStatus.Passing, registry.Find("accounts-2")!.Status);
        Assert.Equal(CheckStatus.Warning, registry.Find("accounts-3")!.Status);
        Assert.Equal("", registry.Find("accounts-1")!.Checks[0].Output);
    }

    [Fact]
    public async Task Register_NamesItsCheck_ServiceColonId_AndNumbersSeveralChecks()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);

        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Check":{"TTL":"30s"}}""");
        await api.RegisterAsync("""{"Name":"users","ID":"users-1","Checks":[{"TTL":"30s"},{"TTL":"30s","Name":"database"}]}""");

        var accounts = Assert.Single(consul.Registry.Find("accounts-1")!.Checks);
        Assert.Equal(("service:accounts-1", "Service 'accounts' check", "ttl"), (accounts.CheckId, accounts.Name, accounts.Type));
        var users = consul.Registry.Find("users-1")!.Checks;
        Assert.Equal(["service:users-1:1", "service:users-1:2"], users.Select(c => c.CheckId));
        Assert.Equal(["Service 'users' check", "database"], users.Select(c => c.Name));
    }

    [Fact]
    public async Task Register_RaisesDeregisterCriticalServiceAfter_ToOneMinute_AndIntervals_ToOneSecond()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);

        await api.RegisterAsync("""
            {"Name":"accounts","Checks":[
              {"TTL":"30s","DeregisterCriticalServiceAfter":"10s"},
              {"HTTP":"http://127.0.0.1:1/health","Interval":"100ms"}]}
            """);

        var checks = consul.Registry.Find("accounts")!.Checks;
        Assert.Equal(TimeSpan.FromMinutes(1), checks[0].DeregisterCriticalServiceAfter);
        Assert.Equal(TimeSpan.FromSeconds(1), checks[1].Interval);
        Assert.Equal(TimeSpan.FromSeconds(10), checks[1].Timeout);
    }

    [Fact]
    public async Task ReRegister_ReplacesTheDefinition_AndKeepsTheStatusOfItsChecks()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Port":8002,"Check":{"TTL":"30s"}}""");
        await api.PutOkAsync("/v1/agent/check/pass/service:accounts-1?note=ready");

        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Port":9002,"Check":{"TTL":"30s","Status":"critical"}}""");

        var service = Assert.Single(consul.Registry.Services);
        Assert.Equal(9002, service.Port);
        var check = Assert.Single(service.Checks);
        Assert.Equal((CheckStatus.Passing, "ready"), (check.Status, check.Output));
    }

    [Fact]
    public async Task ReRegister_KeepsChecksItDoesNotSend_UnlessReplaceExistingChecks()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Checks":[{"CheckID":"alive","TTL":"30s"},{"CheckID":"ready","TTL":"30s"}]}""");

        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Checks":[{"CheckID":"alive","TTL":"30s"}]}""");
        Assert.Equal(["alive", "ready"], consul.Registry.Find("accounts-1")!.Checks.Select(c => c.CheckId));

        using var replace = await api.PutAsync("/v1/agent/service/register?replace-existing-checks", """{"Name":"accounts","ID":"accounts-1","Checks":[{"CheckID":"alive","TTL":"30s"}]}""");
        await AssertEmptyOkAsync(replace);
        Assert.Equal(["alive"], consul.Registry.Find("accounts-1")!.Checks.Select(c => c.CheckId));
    }

    [Fact]
    public async Task ReRegister_WithTheSameDefinition_DoesNotMoveTheIndex()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync(Accounts);
        var index = consul.Index;

        await api.RegisterAsync(Accounts);
        Assert.Equal(index, consul.Index);

        await api.RegisterAsync(Accounts.Replace("8002", "9002"));
        Assert.True(consul.Index > index);
    }

    [Fact]
    public async Task Deregister_RemovesTheServiceAndItsChecks()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Check":{"TTL":"30s"}}""");
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-2","Check":{"TTL":"30s"}}""");

        await api.PutOkAsync("/v1/agent/service/deregister/accounts-1");

        Assert.Equal(["accounts-2"], consul.Registry.Services.Select(s => s.Id));
        var checks = await api.GetJsonAsync("/v1/agent/checks");
        Assert.Equal(["service:accounts-2"], checks.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Deregister_UnknownId_Returns404_WithConsulsText()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1"}""");

        using var response = await api.PutAsync("/v1/agent/service/deregister/accounts");

        await AssertTextAsync(response, HttpStatusCode.NotFound, "Unknown service ID \"accounts\". Ensure that the service ID is passed, not the service name.");
        Assert.Single(consul.Registry.Services);
    }
}
