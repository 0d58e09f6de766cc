using Workshop.Testing.Consul;
using Workshop.Testing.Tests.Infrastructure;

namespace Workshop.Testing.Tests;

/// <summary>HTTP checks: the stand-in probes the URL as Consul does and maps the answer to a status.</summary>
public sealed class HttpCheckTests
{
    /// <summary>The first probe at registration, so the tests need not wait for Consul's random stagger.</summary>
    private static readonly ConsulStandInOptions Prompt = new() { StaggerFirstHttpProbe = false };

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(200, "OK", CheckStatus.Passing)]
    [InlineData(204, "No Content", CheckStatus.Passing)]
    [InlineData(429, "Too Many Requests", CheckStatus.Warning)]
    [InlineData(503, "Service Unavailable", CheckStatus.Critical)]
    [InlineData(404, "Not Found", CheckStatus.Critical)]
    [InlineData(301, "Moved Permanently", CheckStatus.Critical)]
    public async Task HttpCheck_MapsTheAnswer_ToAStatus_WithConsulsOutput(int code, string reason, string status)
    {
        await using var endpoint = await HealthEndpoint.StartAsync(code, code == 204 ? "" : "Degraded");
        await using var consul = await ConsulStandIn.StartAsync(Prompt);
        using var api = new ConsulApi(consul);

        await api.RegisterAsync($$$"""{"Name":"accounts","ID":"accounts-1","Check":{"HTTP":"{{{endpoint.Url}}}","Interval":"10s","DisableRedirects":true}}""");

        var registry = await consul.WaitUntilAsync(r => r.Find("accounts-1")!.Checks[0].Output.Length > 0, Bound);
        var check = registry.Find("accounts-1")!.Checks[0];
        Assert.Equal(status, check.Status);
        Assert.Equal($"HTTP GET {endpoint.Url}: {code} {reason} Output: {endpoint.Body}", check.Output);
        Assert.Equal("http", check.Type);
    }

    [Fact]
    public async Task HttpCheck_ProbesAsConsulHealthCheck_OnEachInterval_AndFollowsTheService()
    {
        await using var endpoint = await HealthEndpoint.StartAsync(200);
        await using var consul = await ConsulStandIn.StartAsync(Prompt);
        using var api = new ConsulApi(consul);

        await api.RegisterAsync($$$"""{"Name":"accounts","ID":"accounts-1","Check":{"HTTP":"{{{endpoint.Url}}}","Interval":"1s"}}""");
        await consul.WaitUntilAsync(r => r.Passing("accounts").Count == 1, Bound);
        endpoint.Status = 503;
        await consul.WaitUntilAsync(r => r.Find("accounts-1")!.Status == CheckStatus.Critical, Bound);
        endpoint.Status = 200;
        await consul.WaitUntilAsync(r => r.Passing("accounts").Count == 1, Bound);

        Assert.All(endpoint.UserAgents, agent => Assert.Equal("Consul Health Check", agent));
    }

    [Fact]
    public async Task HttpCheck_WithoutAnAnswerWithinItsTimeout_IsCritical()
    {
        await using var endpoint = await HealthEndpoint.StartAsync(status: 0);
        await using var consul = await ConsulStandIn.StartAsync(Prompt);
        using var api = new ConsulApi(consul);

        await api.RegisterAsync($$$"""{"Name":"accounts","ID":"accounts-1","Check":{"HTTP":"{{{endpoint.Url}}}","Interval":"10s","Timeout":"500ms","Status":"passing"}}""");

        var registry = await consul.WaitUntilAsync(r => r.Find("accounts-1")!.Status == CheckStatus.Critical, Bound);
        Assert.Equal($"Get \"{endpoint.Url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)", registry.Find("accounts-1")!.Checks[0].Output);
    }

    [Fact]
    public async Task HttpCheck_WhenNothingListens_IsCritical()
    {
        var url = $"http://127.0.0.1:{Ports.Closed()}/health";
        await using var consul = await ConsulStandIn.StartAsync(Prompt);
        using var api = new ConsulApi(consul);

        await api.RegisterAsync($$$"""{"Name":"accounts","ID":"accounts-1","Check":{"HTTP":"{{{url}}}","Interval":"10s","Status":"passing"}}""");

        var registry = await consul.WaitUntilAsync(r => r.Find("accounts-1")!.Status == CheckStatus.Critical, Bound);
        Assert.StartsWith($"Get \"{url}\": ", registry.Find("accounts-1")!.Checks[0].Output);
    }

    [Fact]
    public async Task HttpCheck_Output_KeepsTheFirst4KBOfTheBody()
    {
        await using var endpoint = await HealthEndpoint.StartAsync(200, new string('a', 4000) + new string('b', 1000));
        await using var consul = await ConsulStandIn.StartAsync(Prompt);
        using var api = new ConsulApi(consul);

        await api.RegisterAsync($$$"""{"Name":"accounts","ID":"accounts-1","Check":{"HTTP":"{{{endpoint.Url}}}","Interval":"10s"}}""");

        var registry = await consul.WaitUntilAsync(r => r.Passing("accounts").Count == 1, Bound);
        var output = registry.Find("accounts-1")!.Checks[0].Output;
        Assert.EndsWith(" Output: " + new string('a', 4000) + new string('b', 96), output);
    }

    [Fact]
    public async Task HttpCheck_ByDefault_ProbesFirstWithinOneInterval()
    {
        await using var endpoint = await HealthEndpoint.StartAsync(200);
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);

        await api.RegisterAsync($$$"""{"Name":"accounts","ID":"accounts-1","Check":{"HTTP":"{{{endpoint.Url}}}","Interval":"1s"}}""");

        await consul.WaitUntilAsync(r => r.Passing("accounts").Count == 1, Bound);
    }
}
