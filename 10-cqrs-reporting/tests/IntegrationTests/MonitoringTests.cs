using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Workshop.Testing.Prometheus;
using YamlDotNet.RepresentationModel;

namespace IntegrationTests;

/// <summary>
/// Metrics as Prometheus sees them: every service's <c>/metrics</c>, checked by promtool and scraped by
/// a real Prometheus (the installed program) that runs the step's own configuration for the local run
/// (prometheus/prometheus.local.yml, moved to the test's ports) and the step's alert rules.
/// </summary>
[Lesson("09-monitoring")]
public sealed class MonitoringTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private const string Requests = "microsoft_aspnetcore_hosting_http_server_request_duration_count";

    [Fact]
    public async Task EveryService_ServesMetrics_InTheTextFormat_ThatPromtoolAccepts()
    {
        Promtool.Require();
        await using var step = await GatewayStep.StartAsync();
        // The business counters are there from the start, at 0: their first increment is a change.
        Assert.Contains("users_created_total 0", await MetricsOfAsync(step.Users));
        var atStart = await MetricsOfAsync(step.Accounts);
        Assert.Contains("accounts_deposits_total 0", atStart);
        Assert.Contains("accounts_withdrawals_total 0", atStart);
        Assert.Contains("accounts_overdrafts_rejected_total 0", atStart);

        await BusinessTrafficAsync(step);

        foreach (var service in new[] { step.Gateway, step.Users, step.Accounts })
        {
            using var response = await service.Client.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
            var text = await response.Content.ReadAsStringAsync();

            var check = await Promtool.CheckMetricsAsync(text);
            Assert.True(check.ExitCode == 0, $"{service.Project}: {check}");
            Assert.Contains($"{Requests.Replace("_count", "_bucket")}{{", text);
            Assert.Contains("process_cpu_seconds_total ", text);
            Assert.Contains("system_runtime_dotnet_gc_collections", text);
        }

        var users = await MetricsOfAsync(step.Users);
        Assert.Contains("users_created_total 1", users);
        Assert.Contains("""resilience_circuit_state{service="accounts",state="closed"} 1""", users);
        Assert.Contains("system_net_http_http_client_request_duration_bucket{", users);

        var accounts = await MetricsOfAsync(step.Accounts);
        Assert.Contains("accounts_deposits_total 1", accounts);
        Assert.Contains("accounts_withdrawals_total 1", accounts);
        Assert.Contains("accounts_overdrafts_rejected_total 1", accounts);
        Assert.DoesNotContain("resilience_circuit_state", accounts); // accounts calls no one

        // The gateway's own circuit, for its overview's calls to accounts.
        Assert.Contains("""resilience_circuit_state{service="accounts",state="closed"} 1""", await MetricsOfAsync(step.Gateway));
    }

    [Theory]
    [InlineData("prometheus.yml")]
    [InlineData("prometheus.local.yml")]
    public async Task PrometheusConfiguration_PassesPromtool(string file)
    {
        Promtool.Require();
        var check = await Promtool.CheckConfigAsync(Path.Combine(StepPaths.StepDirectory, "prometheus", file));
        Assert.True(check.ExitCode == 0, check.ToString());
        // It reads the step's alert rules, and they check too.
        Assert.Contains("alerts.yml", check.Output);
    }

    [Fact]
    public async Task AlertRules_PassPromtool_AndTheirUnitTestsCoverEveryAlert()
    {
        Promtool.Require();
        var folder = Path.Combine(StepPaths.StepDirectory, "prometheus");
        var rules = await Promtool.CheckRulesAsync(Path.Combine(folder, "alerts.yml"));
        Assert.True(rules.ExitCode == 0, rules.ToString());

        var tests = await Promtool.TestRulesAsync(Path.Combine(folder, "alerts.test.yml"));
        Assert.True(tests.ExitCode == 0, tests.ToString());
        Assert.Contains("SUCCESS", tests.Output);

        // Each alert is tested both firing and quiet: an alert_rule_test that expects it, and one that expects nothing.
        var yaml = new YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(Path.Combine(folder, "alerts.test.yml"))));
        var checks = ((YamlMappingNode)yaml.Documents[0].RootNode)["tests"].AllNodes.OfType<YamlMappingNode>()
            .Where(node => node.Children.ContainsKey("alertname") && node.Children.ContainsKey("exp_alerts"))
            .Select(node => (Alert: ((YamlScalarNode)node["alertname"]).Value!, Fires: ((YamlSequenceNode)node["exp_alerts"]).Children.Count > 0))
            .ToList();
        foreach (var alert in new[] { "InstanceDown", "HighErrorRate", "SlowRequests", "CircuitOpen" })
        {
            AlertExpression(alert); // it is in alerts.yml
            Assert.True(checks.Contains((alert, true)), $"alerts.test.yml never expects {alert} to fire");
            Assert.True(checks.Contains((alert, false)), $"alerts.test.yml never expects {alert} to stay quiet");
        }
    }

    [Theory]
    [InlineData("/api/users/metrics")]
    [InlineData("/api/accounts/metrics")]
    [InlineData("/api/metrics")]
    public async Task TheServicesMetrics_AreNotServedThroughTheGatewaysRoutes(string path)
    {
        await using var step = await GatewayStep.StartAsync();

        using var response = await step.Client.GetAsync(path);

        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("# TYPE", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Prometheus_ScrapesEveryService_AndCountsExactlyTheRequestsSent()
    {
        await using var step = await GatewayStep.StartAsync();
        await using var prometheus = await StartPrometheusAsync(step);
        var targets = await prometheus.WaitForTargetsUpAsync(expected: 3, Bound);
        Assert.Equal(["accounts", "gateway", "users"], targets.Select(t => t.Job).Order());

        var id = await GatewayTests.CreateUserWithAccountsAsync(step, 10m);
        const int sent = 17;
        for (var i = 0; i < sent; i++)
        {
            using var response = await step.Client.GetAsync($"/api/users/{id}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Users served each of them once, on its route; the gateway proxied each of them once.
        await prometheus.WaitForAsync(
            $$"""sum({{Requests}}{job="users", http_route="/users/{id}", http_request_method="GET", http_response_status_code="200"})""",
            r => r.Count == 1 && r[0].Value == sent, Bound);
        await prometheus.WaitForAsync(
            $$"""sum({{Requests}}{job="gateway", http_request_method="GET", http_response_status_code="200", http_route=~"/api/users.*"})""",
            r => r.Count == 1 && r[0].Value == sent, Bound);
        // And users asked accounts for the balance each time: accounts' list route, once per request.
        await prometheus.WaitForAsync(
            $$"""sum({{Requests}}{job="accounts", http_request_method="GET", http_route="/accounts/"})""",
            r => r.Count == 1 && r[0].Value == sent, Bound);
    }

    [Fact]
    public async Task EveryQueryOfTheDashboard_ReturnsData_AfterTraffic()
    {
        await using var step = await GatewayStep.StartAsync();
        await using var prometheus = await StartPrometheusAsync(step);
        await prometheus.WaitForTargetsUpAsync(expected: 3, Bound);

        await BusinessTrafficAsync(step);
        // A retry, so that Polly's events have something to show.
        var id = await GatewayTests.CreateUserWithAccountsAsync(step, 1m);
        await Faults.SetAsync(step.Accounts, failureRate: 1);
        using (var failing = await step.Client.GetAsync($"/api/users/{id}"))
        {
            Assert.Equal("failed", Assert.Single(failing.Headers.GetValues(Fallback.Header)));
        }

        await Faults.SetAsync(step.Accounts);

        var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(StepPaths.StepDirectory, "grafana", "dashboards", "workshop.json")));
        var queries = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(panel => panel.GetProperty("targets").EnumerateArray().Select(t => (Panel: panel.GetProperty("title").GetString(), Expr: t.GetProperty("expr").GetString()!)))
            .ToList();
        Assert.True(queries.Count >= 7, $"the dashboard has {queries.Count} queries");
        foreach (var (panel, expr) in queries)
        {
            try
            {
                await prometheus.WaitForAsync(expr, r => r.Count > 0, Bound);
            }
            catch (TimeoutException e)
            {
                Assert.Fail($"The panel '{panel}' shows nothing: {e.Message}");
            }
        }
    }

    [Fact]
    public async Task OpeningTheCircuit_ChangesItsStateMetric_AndFiresTheCircuitOpenAlert()
    {
        await using var step = await GatewayStep.StartAsync();
        await using var prometheus = await StartPrometheusAsync(step);
        await prometheus.WaitForTargetsUpAsync(expected: 3, Bound);
        var id = await GatewayTests.CreateUserWithAccountsAsync(step, 5m);
        const string usersOpen = """resilience_circuit_state{job="users", service="accounts", state="open"}""";
        await prometheus.WaitForAsync(usersOpen, r => r.Count == 1 && r[0].Value == 0, Bound);
        var alert = AlertExpression("CircuitOpen");
        Assert.Empty(await prometheus.QueryAsync(alert));

        // Accounts fails every call: the second request's attempts open users' circuit.
        await Faults.SetAsync(step.Accounts, failureRate: 1);
        for (var i = 0; i < 2; i++)
        {
            using var response = await step.Client.GetAsync($"/api/users/{id}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await prometheus.WaitForAsync(usersOpen, r => r.Count == 1 && r[0].Value == 1, Bound);
        var firing = await prometheus.WaitForAsync(alert, r => r.Count > 0, Bound);
        Assert.Equal(("users", "accounts"), (firing[0].Label("job"), firing[0].Label("service")));
        await WaitForAlertAsync(prometheus, "CircuitOpen", "firing");

        // Mended, and the break over: the next call closes it, and the alert ends.
        await Faults.SetAsync(step.Accounts);
        await Task.Delay(TimeSpan.FromSeconds(5.5));
        using (var trial = await step.Client.GetAsync($"/api/users/{id}"))
        {
            Assert.False(trial.Headers.Contains(Fallback.Header));
        }

        await prometheus.WaitForAsync(usersOpen, r => r.Count == 1 && r[0].Value == 0, Bound);
        await prometheus.WaitForAsync(alert, r => r.Count == 0, Bound);
    }

    /// <summary>One of each business event: a user, an account, a deposit, a withdrawal, and one refused.</summary>
    private static async Task BusinessTrafficAsync(GatewayStep step)
    {
        var id = await GatewayTests.CreateUserAsync(step);
        using var opened = await step.Client.PostAsync("/api/accounts", Json.Body(JsonSerializer.Serialize(new { userId = id, initialBalance = 10m })));
        var account = (await Json.ReadAsync(opened, HttpStatusCode.Created)).GetProperty("id").GetInt32();
        using var deposit = await step.Client.PostAsync($"/api/accounts/{account}/deposit", Json.Body("""{"amount":5}"""));
        Assert.Equal(HttpStatusCode.OK, deposit.StatusCode);
        using var withdrawal = await step.Client.PostAsync($"/api/accounts/{account}/withdraw", Json.Body("""{"amount":3}"""));
        Assert.Equal(HttpStatusCode.OK, withdrawal.StatusCode);
        using var overdraft = await step.Client.PostAsync($"/api/accounts/{account}/withdraw", Json.Body("""{"amount":100}"""));
        Assert.Equal(HttpStatusCode.Conflict, overdraft.StatusCode);
        using var user = await step.Client.GetAsync($"/api/users/{id}");
        Assert.Equal(HttpStatusCode.OK, user.StatusCode);
    }

    private static async Task<string> MetricsOfAsync(ServiceProcess service)
    {
        using var response = await service.Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>
    /// Prometheus with the step's configuration for the local run, moved to the ports the test's
    /// services run on, scraping every second instead of every five (the tests wait less), and the
    /// step's alert rules.
    /// </summary>
    internal static Task<PrometheusServer> StartPrometheusAsync(GatewayStep step)
    {
        var folder = Path.Combine(StepPaths.StepDirectory, "prometheus");
        var configuration = File.ReadAllText(Path.Combine(folder, "prometheus.local.yml"));
        foreach (var (documented, actual) in new[]
        {
            ("localhost:8000", step.Gateway), ("localhost:8001", step.Users), ("localhost:8002", step.Accounts),
        })
        {
            Assert.Contains($"\"{documented}\"", configuration);
            configuration = configuration.Replace(documented, $"127.0.0.1:{actual.BaseAddress.Port}", StringComparison.Ordinal);
        }

        // Step 10's reporting consumes from a broker, which these tests do not start: its scrape is
        // tested with it (CqrsTests).
        configuration = Regex.Replace(configuration, @"  - job_name: reporting\n(    .*\n)+", "");

        foreach (var interval in new[] { "scrape_interval: 5s", "evaluation_interval: 5s" })
        {
            Assert.Contains(interval, configuration);
            configuration = configuration.Replace(interval, interval.Replace("5s", "1s"), StringComparison.Ordinal);
        }

        return PrometheusServer.StartAsync(configuration, Path.Combine(folder, "alerts.yml"));
    }

    /// <summary>The expression of one of the step's alerts, from prometheus/alerts.yml.</summary>
    private static string AlertExpression(string name)
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(Path.Combine(StepPaths.StepDirectory, "prometheus", "alerts.yml"))));
        var rules = ((YamlMappingNode)yaml.Documents[0].RootNode)["groups"].AllNodes.OfType<YamlMappingNode>()
            .Where(node => node.Children.ContainsKey("alert"));
        var rule = Assert.Single(rules, r => ((YamlScalarNode)r["alert"]).Value == name);
        return ((YamlScalarNode)rule["expr"]).Value!;
    }

    private static async Task WaitForAlertAsync(PrometheusServer prometheus, string name, string state)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (watch.Elapsed < Bound)
        {
            if ((await prometheus.AlertsAsync()).Any(a => a.Name == name && a.State == state))
            {
                return;
            }

            await Task.Delay(250);
        }

        Assert.Fail($"The alert {name} was not {state} within {Bound.TotalSeconds:0} s: " + string.Join("; ", (await prometheus.AlertsAsync()).Select(a => $"{a.Name} {a.State}")));
    }
}
