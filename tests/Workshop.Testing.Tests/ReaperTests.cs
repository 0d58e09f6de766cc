using System.Diagnostics;
using Workshop.Testing.Consul;
using Workshop.Testing.Tests.Infrastructure;

namespace Workshop.Testing.Tests;

/// <summary>
/// <c>DeregisterCriticalServiceAfter</c>: the reaper removes a service whose check stays critical too
/// long. Consul's floor (1 minute) and pace (30 seconds) are shortened here to 1 second and 200 ms.
/// </summary>
public sealed class ReaperTests
{
    private static readonly ConsulStandInOptions Fast = new()
    {
        MinimumDeregisterCriticalServiceAfter = TimeSpan.FromSeconds(1),
        ReapInterval = TimeSpan.FromMilliseconds(200),
    };

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task CriticalService_IsRemovedWithAllItsChecks_OnceCriticalForLongerThanDeregisterCriticalServiceAfter()
    {
        await using var consul = await ConsulStandIn.StartAsync(Fast);
        using var api = new ConsulApi(consul);
        var started = Stopwatch.StartNew();

        // 10 ms is raised to the floor, 1 s here.
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Checks":[{"CheckID":"alive","TTL":"30s","DeregisterCriticalServiceAfter":"10ms"},{"CheckID":"ready","TTL":"30s"}]}""");

        await consul.WaitUntilAsync(r => r.Find("accounts-1") is null, Bound);
        Assert.True(started.Elapsed >= TimeSpan.FromSeconds(1), $"reaped after {started.Elapsed}");
        var checks = await api.GetJsonAsync("/v1/agent/checks");
        Assert.Empty(checks.EnumerateObject());
    }

    [Fact]
    public async Task Reaper_LeavesServicesThatAreNotCritical()
    {
        await using var consul = await ConsulStandIn.StartAsync(Fast);
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Check":{"TTL":"30s","DeregisterCriticalServiceAfter":"1s","Status":"passing"}}""");
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-2","Check":{"TTL":"30s","DeregisterCriticalServiceAfter":"1s","Status":"warning"}}""");
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-3","Check":{"TTL":"30s","DeregisterCriticalServiceAfter":"1s"}}""");
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-4","Check":{"TTL":"30s"}}""");

        // Once the critical one with a deadline is gone, the reaper has passed over the others too.
        var registry = await consul.WaitUntilAsync(r => r.Find("accounts-3") is null, Bound);
        Assert.Equal(["accounts-1", "accounts-2", "accounts-4"], registry.Instances("accounts").Select(s => s.Id));
    }

    [Fact]
    public async Task CheckThatRecovers_BeforeTheDeadline_KeepsItsService()
    {
        await using var consul = await ConsulStandIn.StartAsync(Fast with { MinimumDeregisterCriticalServiceAfter = TimeSpan.FromSeconds(2) });
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Check":{"TTL":"30s","DeregisterCriticalServiceAfter":"2s"}}""");
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-2","Check":{"TTL":"30s","DeregisterCriticalServiceAfter":"2s"}}""");

        await api.PutOkAsync("/v1/agent/check/pass/service:accounts-1");

        var registry = await consul.WaitUntilAsync(r => r.Find("accounts-2") is null, Bound);
        Assert.NotNull(registry.Find("accounts-1"));
    }
}
