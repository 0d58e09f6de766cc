using System.Diagnostics;
using System.Net;
using Workshop.Testing.Consul;
using Workshop.Testing.Tests.Infrastructure;
using static Workshop.Testing.Tests.Infrastructure.ConsulApi;

namespace Workshop.Testing.Tests;

/// <summary>Blocking queries (<c>?index=</c>, <c>?wait=</c>) and the index they follow.</summary>
public sealed class BlockingQueryTests
{
    /// <summary>How long a blocked query is watched to see that it does not answer.</summary>
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Index_IsNeverZero_AndMovesOnEveryChange()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        using var empty = await api.GetAsync("/v1/health/service/accounts");
        var first = IndexOf(empty);
        Assert.True(first >= 1);

        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Check":{"TTL":"30s"}}""");
        using var registered = await api.GetAsync("/v1/health/service/accounts");
        await api.PutOkAsync("/v1/agent/check/pass/service:accounts-1");
        using var passing = await api.GetAsync("/v1/health/service/accounts");
        await api.PutOkAsync("/v1/agent/service/deregister/accounts-1");
        using var deregistered = await api.GetAsync("/v1/health/service/accounts");

        Assert.True(IndexOf(registered) > first);
        Assert.True(IndexOf(passing) > IndexOf(registered));
        Assert.True(IndexOf(deregistered) > IndexOf(passing));
    }

    [Fact]
    public async Task HealthService_WithoutIndex_AnswersAtOnce()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        var started = Stopwatch.StartNew();

        using var response = await api.GetAsync("/v1/health/service/accounts?wait=30s");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(10), $"took {started.Elapsed}");
    }

    [Fact]
    public async Task HealthService_WithTheCurrentIndex_WaitsForAChange_ThenAnswersIt()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Check":{"TTL":"30s"}}""");
        using var first = await api.GetAsync("/v1/health/service/accounts?passing");
        var index = IndexOf(first);

        var blocked = api.GetAsync($"/v1/health/service/accounts?passing&index={index}&wait=30s");
        await Task.Delay(Quiet);
        Assert.False(blocked.IsCompleted, "the query answered before anything changed");
        await api.PutOkAsync("/v1/agent/check/pass/service:accounts-1");

        using var answer = await blocked.WaitAsync(Bound);
        Assert.True(IndexOf(answer) > index);
        var entry = Assert.Single((await JsonBodyAsync(answer)).EnumerateArray());
        Assert.Equal("accounts-1", entry.GetProperty("Service").GetProperty("ID").GetString());
    }

    [Fact]
    public async Task HealthService_WithTheCurrentIndex_AnswersTheSameIndexWhenTheWaitEnds()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1"}""");
        using var first = await api.GetAsync("/v1/health/service/accounts");
        var index = IndexOf(first);
        var started = Stopwatch.StartNew();

        using var answer = await api.GetAsync($"/v1/health/service/accounts?index={index}&wait=1s");

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(index, IndexOf(answer));
        Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(0.95), TimeSpan.FromSeconds(8));
        Assert.Single((await JsonBodyAsync(answer)).EnumerateArray());
    }

    [Fact]
    public async Task HealthService_IsNotWokenByChangesToOtherServices()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1"}""");
        using var first = await api.GetAsync("/v1/health/service/accounts");
        var index = IndexOf(first);

        var blocked = api.GetAsync($"/v1/health/service/accounts?index={index}&wait=30s");
        await api.RegisterAsync("""{"Name":"users","ID":"users-1"}""");
        await Task.Delay(Quiet);
        Assert.False(blocked.IsCompleted, "a change to users answered a query on accounts");

        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-2"}""");
        using var answer = await blocked.WaitAsync(Bound);
        Assert.Equal(2, (await JsonBodyAsync(answer)).GetArrayLength());
    }

    [Fact]
    public async Task HealthService_WhenTheLastInstanceLeaves_AnswersEmptyWithAHigherIndex()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1"}""");
        using var first = await api.GetAsync("/v1/health/service/accounts");
        var index = IndexOf(first);

        var blocked = api.GetAsync($"/v1/health/service/accounts?index={index}&wait=30s");
        await api.PutOkAsync("/v1/agent/service/deregister/accounts-1");

        using var answer = await blocked.WaitAsync(Bound);
        Assert.True(IndexOf(answer) > index);
        Assert.Equal(0, (await JsonBodyAsync(answer)).GetArrayLength());
    }

    [Theory]
    [InlineData("?index=1&wait=soon", "Invalid wait time")]
    [InlineData("?index=1&wait=10", "Invalid wait time")]
    [InlineData("?index=-1", "Invalid index")]
    [InlineData("?index=next", "Invalid index")]
    public async Task HealthService_WithAnInvalidWaitOrIndex_Returns400(string query, string reason)
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);

        using var response = await api.GetAsync($"/v1/health/service/accounts{query}");

        await AssertTextAsync(response, HttpStatusCode.BadRequest, reason);
    }

    [Fact]
    public async Task CatalogServices_WithTheCurrentIndex_WaitsForANewService()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        using var first = await api.GetAsync("/v1/catalog/services");
        var index = IndexOf(first);

        var blocked = api.GetAsync($"/v1/catalog/services?index={index}&wait=30s");
        await Task.Delay(Quiet);
        Assert.False(blocked.IsCompleted, "the query answered before anything changed");
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Tags":["v1"]}""");

        using var answer = await blocked.WaitAsync(Bound);
        Assert.True(IndexOf(answer) > index);
        Assert.Equal(["accounts", "consul"], (await JsonBodyAsync(answer)).EnumerateObject().Select(p => p.Name));
    }
}
