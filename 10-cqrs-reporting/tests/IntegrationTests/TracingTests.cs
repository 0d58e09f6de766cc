using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Workshop.Testing.Otlp;

namespace IntegrationTests;

/// <summary>
/// One request, one trace: the gateway, users and accounts export their spans over OTLP/HTTP to the
/// stand-in receiver, which decodes what they really sent.
/// </summary>
[Lesson("08-tracing")]
public sealed partial class TracingTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task ARequestThroughTheGateway_IsOneTrace_GatewayUsersAccounts_EachSpanUnderTheOneThatCausedIt()
    {
        await using var traced = await TracedStep.StartAsync();
        var id = await traced.CreateUserWithAccountAsync(42m);

        using var response = await traced.Step.Client.GetAsync($"/api/users/{id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // Seven spans, from three services exporting each in its own batches.
        var trace = await traced.WaitForTraceAsync(spans => spans.Count >= 7, $"/api/users/{id}");
        var root = Assert.Single(trace, s => s.ParentSpanId is null);
        Assert.Equal(("gateway", OtlpSpanKind.Server), (root.Service, root.Kind));
        Assert.Equal("200", root.Attribute("http.response.status_code"));

        var usersServer = Assert.Single(trace, s => s is { Service: "users", Kind: OtlpSpanKind.Server });
        Assert.Equal("/users/{id}", usersServer.Attribute("http.route"));
        Assert.Equal("GET /users/{id}", usersServer.Name);
        var gatewayClient = Parent(trace, usersServer);
        Assert.Equal(("gateway", OtlpSpanKind.Client), (gatewayClient.Service, gatewayClient.Kind));
        Assert.Equal(root.SpanId, Ancestors(trace, gatewayClient).Last().SpanId);

        var getUser = Assert.Single(trace, s => s.Name == "users.get_with_balance");
        Assert.Equal(usersServer.SpanId, getUser.ParentSpanId);
        Assert.Equal(id.ToString(), getUser.Attribute("user.id"));
        Assert.DoesNotContain(getUser.Attributes.Values, v => v is string text && text.Contains("Ada"));

        var accountsServer = Assert.Single(trace, s => s is { Service: "accounts", Kind: OtlpSpanKind.Server });
        Assert.StartsWith("/accounts", accountsServer.Attribute("http.route"));
        var usersClient = Parent(trace, accountsServer);
        Assert.Equal(("users", OtlpSpanKind.Client), (usersClient.Service, usersClient.Kind));
        Assert.Equal(getUser.SpanId, usersClient.ParentSpanId);
        var list = Assert.Single(trace, s => s.Name == "accounts.list");
        Assert.Equal((accountsServer.SpanId, id.ToString()), (list.ParentSpanId, list.Attribute("user.id")));
        Assert.All(trace, s => Assert.Equal(root.TraceId, s.TraceId));

        // The README of the tracing lesson (step 08) draws this trace as Jaeger shows it: exactly these
        // spans, each under its parent. The steps after it export the same trace.
        var readme = File.ReadAllText(Path.Combine(StepPaths.StepDirectory, "..", "08-tracing", "README.md"));
        var drawn = Draw(trace, root);
        Assert.True(readme.Contains(drawn, StringComparison.Ordinal), $"08-tracing/README.md does not draw the trace as exported:\n{drawn}");
    }

    [Fact]
    public async Task TheCallersTraceContext_IsContinued_ThroughTheGateway()
    {
        await using var traced = await TracedStep.StartAsync();
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        const string callerSpan = "00f067aa0ba902b7";

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/users");
        request.Headers.Add("traceparent", $"00-{traceId}-{callerSpan}-01");
        using var response = await traced.Step.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var spans = await traced.Receiver.WaitForSpansAsync(
            s => s.Any(x => x.TraceId == traceId && x is { Service: "users", Kind: OtlpSpanKind.Server })
                && s.Any(x => x.TraceId == traceId && x is { Service: "gateway", Kind: OtlpSpanKind.Server }),
            Bound);
        var gateway = Assert.Single(spans, s => s.TraceId == traceId && s is { Service: "gateway", Kind: OtlpSpanKind.Server });
        Assert.Equal(callerSpan, gateway.ParentSpanId);
        var users = Assert.Single(spans, s => s.TraceId == traceId && s is { Service: "users", Kind: OtlpSpanKind.Server });
        var proxied = Parent(spans, users);
        Assert.Equal(("gateway", OtlpSpanKind.Client, gateway.SpanId), (proxied.Service, proxied.Kind, proxied.ParentSpanId));
    }

    [Fact]
    public async Task AFailingAccounts_ShowsInTheTrace_FailedAttempts_Retries_ThenTheOpenCircuitsFallback()
    {
        await using var traced = await TracedStep.StartAsync(new Dictionary<string, string>
        {
            // The account opened below is one successful call; the request's three failed attempts make four.
            ["Resilience__Accounts__MinimumThroughput"] = "4",
            ["Resilience__Accounts__FailureRatio"] = "0.5",
            ["Resilience__Accounts__BreakDuration"] = "00:01:00",
        });
        var id = await traced.CreateUserWithAccountAsync(5m);
        await Faults.SetAsync(traced.Step.Accounts, failureRate: 1);

        using (var failed = await traced.Step.Users.Client.GetAsync($"/users/{id}"))
        {
            await Fallback.AssertAsync(failed, "failed");
        }

        var trace = await traced.WaitForTraceAsync(spans => spans.Count(s => s is { Service: "accounts", Kind: OtlpSpanKind.Server }) == 3, $"/users/{id}");
        var getUser = Assert.Single(trace, s => s.Name == "users.get_with_balance");
        var attempts = trace.Where(s => s is { Service: "users", Kind: OtlpSpanKind.Client }).ToList();
        Assert.Equal(3, attempts.Count);
        Assert.All(attempts, a => Assert.Equal((OtlpSpanStatus.Error, getUser.SpanId, "500"), (a.Status, a.ParentSpanId, a.Attribute("http.response.status_code"))));
        Assert.All(trace.Where(s => s is { Service: "accounts", Kind: OtlpSpanKind.Server }), s => Assert.Equal(OtlpSpanStatus.Error, s.Status));
        Assert.Equal(["1", "2"], getUser.Events.Where(e => e.Name == "retry").Select(e => Convert.ToString(e.Attributes["retry.attempt"])));
        Assert.Equal("failed", getUser.Attribute("balance.unavailable"));
        Assert.Equal("failed", Convert.ToString(Assert.Single(getUser.Events, e => e.Name == "fallback").Attributes["reason"]));

        // The circuit opened on the third failed attempt: the next request's span shows the fallback, and no call.
        using (var open = await traced.Step.Users.Client.GetAsync($"/users/{id}"))
        {
            await Fallback.AssertAsync(open, "circuit-open");
        }

        var spans = await traced.Receiver.WaitForSpansAsync(s => s.Any(x => x.Name == "users.get_with_balance" && x.Attribute("balance.unavailable") == "circuit-open"), Bound);
        var fastFallback = Assert.Single(spans, x => x.Name == "users.get_with_balance" && x.Attribute("balance.unavailable") == "circuit-open");
        Assert.DoesNotContain(spans, s => s.TraceId == fastFallback.TraceId && s.Kind == OtlpSpanKind.Client);
    }

    [Fact]
    public async Task TheTraceIdsInALogLine_AreThoseOfTheExportedSpans_AndTheProblemDetailsCarryTheTrace()
    {
        await using var traced = await TracedStep.StartAsync();

        using var created = await traced.Step.Client.PostAsync("/api/users", Json.Body("""{"name":"Grace Hopper","email":"grace@example.com"}"""));
        var id = (await Json.ReadAsync(created, HttpStatusCode.Created)).GetProperty("id").GetInt32();
        var line = await traced.Step.Users.WaitForLogAsync($"Created user {id}", Bound);
        var ids = LoggedIds().Match(line);
        Assert.True(ids.Success, $"no trace and span in: {line}");
        var spans = await traced.Receiver.WaitForSpansAsync(
            s => s.Any(x => x.SpanId == ids.Groups["span"].Value) && s.Any(x => x.TraceId == ids.Groups["trace"].Value && x is { Service: "gateway", ParentSpanId: null }),
            Bound);
        var create = Assert.Single(spans, s => s.SpanId == ids.Groups["span"].Value);
        Assert.Equal(("users.create", ids.Groups["trace"].Value), (create.Name, create.TraceId));
        Assert.Contains(spans, s => s.TraceId == create.TraceId && s is { Service: "gateway", ParentSpanId: null });

        // A ProblemDetails through the gateway names the trace it belongs to (W3C: 00-trace-span-flags).
        using var missing = await traced.Step.Client.GetAsync("/api/users/424242");
        var problem = await Problem.AssertAsync(missing, HttpStatusCode.NotFound);
        var traceId = problem.GetProperty("traceId").GetString()!.Split('-')[1];
        await traced.Receiver.WaitForSpansAsync(s => s.Any(x => x.TraceId == traceId && x is { Service: "gateway", ParentSpanId: null }), Bound);

        // The gateway's own ProblemDetails too (no API key: 401), in the caller's trace.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/users/1");
        request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        using var anonymous = new HttpClient { BaseAddress = traced.Step.Gateway.BaseAddress };
        using var refused = await anonymous.SendAsync(request);
        var unauthorized = await Problem.AssertAsync(refused, HttpStatusCode.Unauthorized);
        Assert.Matches("^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$", unauthorized.GetProperty("traceId").GetString());
    }

    [Fact]
    public async Task TheSpans_GoToTheCollectorDirectly_WhenAWebProxyIsSetInTheEnvironment()
    {
        // A proxy in every service's environment that answers everything with a 502: .NET would send
        // even the export to a loopback collector there. The spans must reach the receiver regardless.
        await using var proxy = StandInServer.Answering("502 Bad Gateway", "text/plain", "the proxy cannot reach the collector");
        await using var traced = await TracedStep.StartAsync(ConnectTests.WebProxy(proxy.BaseAddress));
        var id = await traced.CreateUserWithAccountAsync(5m);

        using var response = await traced.Step.Client.GetAsync($"/api/users/{id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var trace = await traced.WaitForTraceAsync(spans => spans.Count >= 7, $"/api/users/{id}");
        Assert.Equal(["accounts", "gateway", "users"], trace.Select(s => s.Service).Distinct().Order());
        Assert.Empty(proxy.Requests);
    }

    [Theory]
    [InlineData("nothing listens")]
    [InlineData("503")]
    [InlineData("hangs")]
    public async Task WithoutAWorkingCollector_TheServicesServeAsBefore_AndEachSaysSoOnce(string collector)
    {
        await using var receiver = await OtlpStandIn.StartAsync();
        var endpoint = receiver.BaseAddress.ToString();
        receiver.Fault = collector switch { "503" => OtlpFault.Unavailable(), "hangs" => OtlpFault.Hanging(), _ => OtlpFault.None };
        if (collector == "nothing listens")
        {
            endpoint = "http://127.0.0.1:1/";
        }

        await using var step = await GatewayStep.StartAsync(environment: new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint,
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_EXPORTER_OTLP_TIMEOUT"] = "1000",
        });
        var id = await GatewayTests.CreateUserAsync(step);
        for (var i = 0; i < 5; i++)
        {
            using var response = await step.Client.GetAsync($"/api/users/{id}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        foreach (var service in new[] { step.Gateway, step.Users, step.Accounts })
        {
            await service.WaitForLogAsync("Traces are not exported: the OTLP collector at", Bound);
        }

        for (var i = 0; i < 3; i++)
        {
            using var more = await step.Client.GetAsync($"/api/users/{id}");
            Assert.Equal(HttpStatusCode.OK, more.StatusCode);
        }

        await Task.Delay(TimeSpan.FromSeconds(1.5)); // more export attempts, which must not be logged again
        Assert.Single(step.Users.Log, l => l.Contains("Traces are not exported", StringComparison.Ordinal));
    }

    [GeneratedRegex(@"\[trace (?<trace>[0-9a-f]{32}) span (?<span>[0-9a-f]{16})\]")]
    private static partial Regex LoggedIds();

    /// <summary>The trace as a tree, children in the order they started: "name  (service, kind)" per span.</summary>
    private static string Draw(IReadOnlyList<ReceivedSpan> trace, ReceivedSpan root)
    {
        var lines = new List<string>();
        void Add(ReceivedSpan span, int depth)
        {
            var indent = depth == 0 ? "" : new string(' ', 2 * (depth - 1)) + "└ ";
            lines.Add($"{indent}{span.Name}  ({span.Service}, {span.Kind.ToString().ToLowerInvariant()})");
            foreach (var child in trace.Where(s => s.ParentSpanId == span.SpanId).OrderBy(s => s.Start))
            {
                Add(child, depth + 1);
            }
        }

        Add(root, 0);
        return string.Join('\n', lines);
    }

    private static ReceivedSpan Parent(IReadOnlyList<ReceivedSpan> trace, ReceivedSpan span) =>
        Assert.Single(trace, s => s.SpanId == span.ParentSpanId);

    private static IEnumerable<ReceivedSpan> Ancestors(IReadOnlyList<ReceivedSpan> trace, ReceivedSpan span)
    {
        for (var current = span; current.ParentSpanId is not null; )
        {
            current = Parent(trace, current);
            yield return current;
        }
    }

    /// <summary>The step's three services exporting to a stand-in receiver, with a short batch delay.</summary>
    private sealed class TracedStep : IAsyncDisposable
    {
        public OtlpStandIn Receiver { get; private init; } = null!;

        public GatewayStep Step { get; private init; } = null!;

        public static async Task<TracedStep> StartAsync(Dictionary<string, string>? environment = null)
        {
            var receiver = await OtlpStandIn.StartAsync();
            environment ??= [];
            environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.BaseAddress.ToString();
            environment["OTEL_BSP_SCHEDULE_DELAY"] = "100";
            return new TracedStep { Receiver = receiver, Step = await GatewayStep.StartAsync(environment: environment) };
        }

        public async Task<int> CreateUserWithAccountAsync(decimal balance)
        {
            using var created = await Step.Users.Client.PostAsync("/users", Json.Body(JsonSerializer.Serialize(new { name = "Ada Lovelace", email = $"ada{Guid.NewGuid():N}@example.com" })));
            var id = (await Json.ReadAsync(created, HttpStatusCode.Created)).GetProperty("id").GetInt32();
            using var opened = await Step.Users.Client.PostAsync($"/users/{id}/accounts", Json.Body(JsonSerializer.Serialize(new { initialBalance = balance })));
            Assert.Equal(HttpStatusCode.Created, opened.StatusCode);
            return id;
        }

        /// <summary>The spans of the trace whose server span served <paramref name="path"/>, once they satisfy <paramref name="complete"/>.</summary>
        public async Task<IReadOnlyList<ReceivedSpan>> WaitForTraceAsync(Func<IReadOnlyList<ReceivedSpan>, bool> complete, string path)
        {
            IReadOnlyList<ReceivedSpan> Of(IReadOnlyList<ReceivedSpan> spans) =>
                spans.FirstOrDefault(s => s.Kind == OtlpSpanKind.Server && s.Attribute("url.path") == path) is { } server
                    ? spans.Where(s => s.TraceId == server.TraceId).ToList()
                    : [];

            var spans = await Receiver.WaitForSpansAsync(all => Of(all) is { Count: > 0 } trace && complete(trace), Bound);
            return Of(spans);
        }

        public async ValueTask DisposeAsync()
        {
            await Step.DisposeAsync();
            await Receiver.DisposeAsync();
        }
    }
}
