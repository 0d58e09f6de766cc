using System.Net;
using Workshop.Testing.Consul;
using Workshop.Testing.Tests.Infrastructure;

namespace Workshop.Testing.Tests;

/// <summary>Starting, stopping and coming back; what the stand-in lets tests observe.</summary>
public sealed class LifecycleTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task StartAsync_OnAGivenPort_ListensThere()
    {
        var port = Ports.Closed();

        await using var consul = await ConsulStandIn.StartAsync(port);

        Assert.Equal(new Uri($"http://127.0.0.1:{port}/"), consul.BaseAddress);
        using var api = new ConsulApi(consul);
        Assert.Equal("127.0.0.1:8300", (await api.GetJsonAsync("/v1/status/leader")).GetString());
    }

    [Fact]
    public async Task Stop_MakesThePortRefuseConnections_AndBringUp_ServesAgain_WithWhatItHeld()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Check":{"TTL":"30s","Status":"passing"}}""");

        await consul.StopAsync();
        Assert.False(consul.IsRunning);
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => api.GetAsync("/v1/status/leader"));
        Assert.Equal(HttpRequestError.ConnectionError, refused.HttpRequestError);

        await consul.BringUpAsync();
        var entry = Assert.Single((await api.GetJsonAsync("/v1/health/service/accounts?passing")).EnumerateArray());
        Assert.Equal("accounts-1", entry.GetProperty("Service").GetProperty("ID").GetString());
    }

    [Fact]
    public async Task Create_FixesTheAddress_BeforeAnythingListensThere()
    {
        await using var consul = ConsulStandIn.Create();
        using var api = new ConsulApi(consul);

        await Assert.ThrowsAsync<HttpRequestException>(() => api.GetAsync("/v1/status/leader"));
        await consul.BringUpAsync();

        using var response = await api.GetAsync("/v1/status/leader");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Requests_AreKept_WithMethodPathAndQuery()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);

        await api.RegisterAsync("""{"Name":"accounts"}""");
        using var health = await api.GetAsync("/v1/health/service/accounts?passing&index=1");
        using var unknown = await api.GetAsync("/v1/nothing");

        Assert.Equal(
            ["PUT /v1/agent/service/register", "GET /v1/health/service/accounts?passing&index=1", "GET /v1/nothing"],
            consul.Requests.Select(r => r.ToString()));
        Assert.Equal(1, consul.CountRequests("GET", "/v1/health/service/accounts"));
    }

    [Fact]
    public async Task WaitUntilAsync_ReturnsTheRegistry_OnceTheConditionHolds()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);

        var waiting = consul.WaitUntilAsync(r => r.Passing("accounts").Count == 2, Bound);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Check":{"TTL":"30s","Status":"passing"}}""");
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-2","Check":{"TTL":"30s"}}""");
        Assert.False(waiting.IsCompleted);
        Assert.True(consul.SetCheckStatus("service:accounts-2", CheckStatus.Passing, "set by the test"));

        var registry = await waiting;
        Assert.Equal(["accounts-1", "accounts-2"], registry.Passing("accounts").Select(s => s.Id));
    }

    [Fact]
    public async Task WaitUntilAsync_ThrowsATimeout_SayingWhatItHolds()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Address":"127.0.0.1","Port":8002,"Check":{"TTL":"30s"}}""");

        var timeout = await Assert.ThrowsAsync<TimeoutException>(() =>
            consul.WaitUntilAsync(r => r.Passing("accounts").Count == 1, TimeSpan.FromMilliseconds(200)));

        Assert.Contains("accounts-1 (accounts) at 127.0.0.1:8002 critical", timeout.Message);
    }

    [Fact]
    public async Task Deregister_FromTheTest_RemovesTheInstance()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1"}""");

        Assert.True(consul.Deregister("accounts-1"));

        Assert.Equal(0, (await api.GetJsonAsync("/v1/health/service/accounts")).GetArrayLength());
        Assert.False(consul.Deregister("accounts-1"));
    }
}
