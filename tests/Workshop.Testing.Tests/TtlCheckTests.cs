using System.Net;
using Workshop.Testing.Consul;
using Workshop.Testing.Tests.Infrastructure;
using static Workshop.Testing.Tests.Infrastructure.ConsulApi;

namespace Workshop.Testing.Tests;

/// <summary>TTL checks: <c>PUT /v1/agent/check/pass|warn|fail|update/{checkId}</c> and the expiry of the TTL.</summary>
public sealed class TtlCheckTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData("pass", CheckStatus.Passing)]
    [InlineData("warn", CheckStatus.Warning)]
    [InlineData("fail", CheckStatus.Critical)]
    public async Task CheckPassWarnFail_SetTheStatus_AndTheNoteBecomesTheOutput(string verb, string status)
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Check":{"TTL":"30s","Status":"warning"}}""");

        using var response = await api.PutAsync($"/v1/agent/check/{verb}/service:accounts-1?note=database%20ok");

        await AssertEmptyOkAsync(response);
        var check = consul.Registry.Find("accounts-1")!.Check("service:accounts-1")!;
        Assert.Equal((status, "database ok"), (check.Status, check.Output));
    }

    [Fact]
    public async Task CheckUpdate_SetsStatusAndOutput_FromItsBody()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Check":{"TTL":"30s"}}""");

        await api.PutOkAsync("/v1/agent/check/update/service:accounts-1", """{"Status":"warning","Output":"slow database"}""");

        var check = consul.Registry.Find("accounts-1")!.Checks[0];
        Assert.Equal((CheckStatus.Warning, "slow database"), (check.Status, check.Output));
    }

    [Fact]
    public async Task CheckUpdate_WithAnUnknownStatus_Returns400()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Check":{"TTL":"30s"}}""");

        using var response = await api.PutAsync("/v1/agent/check/update/service:accounts-1", """{"Status":"healthy"}""");

        await AssertTextAsync(response, HttpStatusCode.BadRequest, "Invalid check status: 'healthy'");
    }

    [Theory]
    [InlineData("/v1/agent/check/pass/service:accounts")]
    [InlineData("/v1/agent/check/fail/accounts-1")]
    public async Task CheckPass_OnAnUnknownCheck_Returns404_WithConsulsText(string path)
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Check":{"TTL":"30s"}}""");

        using var response = await api.PutAsync(path);

        var checkId = path.Split('/')[^1];
        await AssertTextAsync(response, HttpStatusCode.NotFound, $"Unknown check ID \"{checkId}\". Ensure that the check ID is passed, not the check name.");
    }

    [Fact]
    public async Task CheckPass_OnACheckThatIsNotTtl_Returns500()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync($$$"""{"Name":"accounts","ID":"accounts-1","Check":{"HTTP":"http://127.0.0.1:{{{Ports.Closed()}}}/health","Interval":"30s"}}""");

        using var response = await api.PutAsync("/v1/agent/check/pass/service:accounts-1");

        await AssertTextAsync(response, HttpStatusCode.InternalServerError, "CheckID \"service:accounts-1\" does not have associated TTL");
    }

    [Fact]
    public async Task TtlCheck_NotUpdatedInTime_TurnsCritical_WithTtlExpired()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Check":{"TTL":"1s"}}""");
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-2","Check":{"TTL":"1s"}}""");
        await api.PutOkAsync("/v1/agent/check/pass/service:accounts-1?note=ready");

        var registry = await consul.WaitUntilAsync(
            r => r.Find("accounts-1")!.Status == CheckStatus.Critical && r.Find("accounts-2")!.Checks[0].Output.Length > 0, Bound);

        Assert.Equal("TTL expired (last output before timeout follows): ready", registry.Find("accounts-1")!.Checks[0].Output);
        Assert.Equal((CheckStatus.Critical, "TTL expired"), (registry.Find("accounts-2")!.Status, registry.Find("accounts-2")!.Checks[0].Output));
    }

    [Fact]
    public async Task TtlCheck_EachUpdate_RestartsTheTimer()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Check":{"TTL":"3s"}}""");

        // Passes 2 s apart: 4 s after the first one, the check is still passing thanks to the second.
        await api.PutOkAsync("/v1/agent/check/pass/service:accounts-1");
        await Task.Delay(TimeSpan.FromSeconds(2));
        await api.PutOkAsync("/v1/agent/check/pass/service:accounts-1");
        await Task.Delay(TimeSpan.FromSeconds(2));

        Assert.Equal(CheckStatus.Passing, consul.Registry.Find("accounts-1")!.Status);
        await consul.WaitUntilAsync(r => r.Find("accounts-1")!.Status == CheckStatus.Critical, Bound);
    }

    [Fact]
    public async Task CheckPass_ThatKeepsTheStatus_DoesNotMoveTheIndex_ButShowsTheNewOutput()
    {
        await using var consul = await ConsulStandIn.StartAsync();
        using var api = new ConsulApi(consul);
        await api.RegisterAsync("""{"Name":"accounts","ID":"accounts-1","Check":{"TTL":"30s"}}""");
        await api.PutOkAsync("/v1/agent/check/pass/service:accounts-1?note=first");
        var index = consul.Index;

        await api.PutOkAsync("/v1/agent/check/pass/service:accounts-1?note=second");

        Assert.Equal(index, consul.Index);
        Assert.Equal("second", consul.Registry.Find("accounts-1")!.Checks[0].Output);
        await api.PutOkAsync("/v1/agent/check/warn/service:accounts-1");
        Assert.True(consul.Index > index);
    }
}
