using System.Net;
using System.Text.Json;
using Workshop.Testing.Consul;
using Workshop.Testing.Tests.Infrastructure;
using static Workshop.Testing.Tests.Infrastructure.ConsulApi;

namespace Workshop.Testing.Tests;

/// <summary>The faults a test can switch on, so that the services are seen to survive a failing Consul.</summary>
public sealed class FaultTests
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ServerError_Answers500WithText_ToEveryRequest_UntilCleared()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        consul.Fault = ConsulFault.ServerError;

        using var read = await api.GetAsync("/v1/health/service/accounts");
        using var write = await api.PutAsync("/v1/agent/service/register", """{"Name":"accounts"}""");

        await AssertTextAsync(read, HttpStatusCode.InternalServerError, "No cluster leader");
        await AssertTextAsync(write, HttpStatusCode.InternalServerError, "No cluster leader");
        Assert.Empty(consul.Registry.Services);
        consul.Fault = ConsulFault.None;
        await api.RegisterAsync("""{"Name":"accounts"}""");
    }

    [Fact]
    public async Task Hang_HoldsEveryRequest_UntilTheFaultIsLifted()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        consul.Fault = ConsulFault.Hang;

        var register = api.PutAsync("/v1/agent/service/register", """{"Name":"accounts"}""");
        var read = api.GetAsync("/v1/status/leader");
        await consul.WaitForRequestsAsync(requests => requests.Count == 2, Bound);
        await Task.Delay(Quiet);
        Assert.False(register.IsCompleted || read.IsCompleted, "a request was answered while Consul hung");

        consul.Fault = ConsulFault.None;
        using var registered = await register.WaitAsync(Bound);
        using var leader = await read.WaitAsync(Bound);
        await AssertEmptyOkAsync(registered);
        Assert.Equal(HttpStatusCode.OK, leader.StatusCode);
        Assert.Single(consul.Registry.Services);
    }

    [Fact]
    public async Task Hang_EndsOnlyByTheCallersTimeout()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul, timeout: TimeSpan.FromMilliseconds(500));
        consul.Fault = ConsulFault.Hang;

        await Assert.ThrowsAsync<TaskCanceledException>(() => api.GetAsync("/v1/health/service/accounts"));
    }

    [Fact]
    public async Task Hang_DropsTheConnections_WhenTheStandInStops()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        consul.Fault = ConsulFault.Hang;
        var read = api.GetAsync("/v1/health/service/accounts");
        await consul.WaitForRequestsAsync(requests => requests.Count == 1, Bound);

        await consul.StopAsync();

        await Assert.ThrowsAsync<HttpRequestException>(() => read.WaitAsync(Bound));
    }

    [Theory]
    [InlineData("/v1/health/service/accounts")]
    [InlineData("/v1/health/service/accounts?passing&index=1&wait=30s")]
    [InlineData("/v1/catalog/services")]
    public async Task Garbage_AnswersDiscoveryReadsWith200_AndABodyThatIsNotJson(string path)
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","Check":{"TTL":"30s","Status":"passing"}}""");
        consul.Fault = ConsulFault.Garbage;

        using var response = await api.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(body));
    }

    [Fact]
    public async Task EmptyServiceList_AnswersNoInstance_AndStillKeepsRegistrations()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Check":{"TTL":"30s","Status":"passing"}}""");
        consul.Fault = ConsulFault.EmptyServiceList;

        using var health = await api.GetAsync("/v1/health/service/accounts?passing");
        var catalog = await api.GetJsonAsync("/v1/catalog/services");
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-2","Check":{"TTL":"30s","Status":"passing"}}""");

        Assert.Equal(0, (await JsonBodyAsync(health)).GetArrayLength());
        Assert.True(IndexOf(health) >= 1);
        Assert.Equal(["consul"], catalog.EnumerateObject().Select(p => p.Name));
        Assert.Equal(2, consul.Registry.Passing("accounts").Count);
        consul.Fault = ConsulFault.None;
        Assert.Equal(2, (await api.GetJsonAsync("/v1/health/service/accounts?passing")).GetArrayLength());
    }

    [Fact]
    public async Task ResetIndex_SendsTheIndexBackwards_AndAnswersBlockedQueriesAtOnce()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        for (var i = 1; i <= 5; i++)
        {
            await api.RegisterAsync($$"""{"Name":"accounts","ID":"accounts-{{i}}"}""");
        }

        using var first = await api.GetAsync("/v1/health/service/accounts");
        var index = IndexOf(first);
        var blocked = api.GetAsync($"/v1/health/service/accounts?index={index}&wait=30s");
        await consul.WaitForRequestsAsync(requests => requests.Count(r => r.QueryString.Contains("index=")) == 1, Bound);

        consul.ResetIndex(2);

        using var answer = await blocked.WaitAsync(Bound);
        Assert.Equal(2UL, IndexOf(answer));
        Assert.Equal(5, (await JsonBodyAsync(answer)).GetArrayLength());
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-6"}""");
        using var after = await api.GetAsync("/v1/health/service/accounts");
        Assert.Equal(3UL, IndexOf(after));
    }
}
