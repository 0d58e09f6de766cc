using System.Text;
using Microsoft.AspNetCore.Http;

namespace Workshop.Testing.Consul;

/// <summary>
/// Consul's HTTP API, for the endpoints the workshop's services use, answered as Consul's
/// <c>agent/http.go</c> answers: a successful write is <c>200</c> with an empty body and no
/// Content-Type; a read is JSON (<c>application/json</c>); a refusal is a status with a plain-text
/// reason; a wrong method is <c>405</c> with <c>Allow</c>; an unknown <c>/v1/</c> path is <c>404</c>.
/// One instance serves one run of the stand-in (from start to stop).
/// </summary>
internal sealed class ConsulHttpApi
{
    private const string PlainText = "text/plain; charset=utf-8";
    private static readonly TimeSpan DefaultWait = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan MaximumWait = TimeSpan.FromMinutes(10);

    private readonly AgentState _state;
    private readonly FaultSwitch _faults;
    private readonly RequestLog _requests;
    private readonly AgentNode _node;
    private readonly CancellationToken _stopping;
    private readonly Route[] _routes;

    public ConsulHttpApi(AgentState state, FaultSwitch faults, RequestLog requests, AgentNode node, CancellationToken stopping)
    {
        _state = state;
        _faults = faults;
        _requests = requests;
        _node = node;
        _stopping = stopping;
        _routes =
        [
            new("/v1/agent/service/register", "PUT", RegisterAsync),
            new("/v1/agent/service/deregister/", "PUT", DeregisterAsync),
            new("/v1/agent/check/pass/", "PUT", (context, id, _) => UpdateTtlAsync(context, id, CheckStatus.Passing)),
            new("/v1/agent/check/warn/", "PUT", (context, id, _) => UpdateTtlAsync(context, id, CheckStatus.Warning)),
            new("/v1/agent/check/fail/", "PUT", (context, id, _) => UpdateTtlAsync(context, id, CheckStatus.Critical)),
            new("/v1/agent/check/update/", "PUT", UpdateCheckAsync),
            new("/v1/agent/services", "GET", AgentServicesAsync),
            new("/v1/agent/checks", "GET", AgentChecksAsync),
            new("/v1/health/service/", "GET", HealthServiceAsync),
            new("/v1/catalog/services", "GET", CatalogServicesAsync),
            new("/v1/status/leader", "GET", (context, _, _) => JsonAsync(context, $"{_node.Address}:8300")),
            new("/v1/status/peers", "GET", (context, _, _) => JsonAsync(context, new[] { $"{_node.Address}:8300" })),
        ];
    }

    /// <summary>
    /// A handler: the request, the rest of the path after the route's pattern (an ID or a name), and
    /// a token cancelled when the caller goes away or the stand-in stops.
    /// </summary>
    private delegate Task Handler(HttpContext context, string rest, CancellationToken cancellation);

    /// <summary>
    /// A path the API answers, matched as Go's ServeMux does: a pattern ending in <c>/</c> takes every
    /// path below it, the longest pattern wins.
    /// </summary>
    private sealed record Route(string Pattern, string Method, Handler Handle)
    {
        public bool Matches(string path) => Pattern.EndsWith('/') ? path.StartsWith(Pattern, StringComparison.Ordinal) : path == Pattern;
    }

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        // Taken before the request is logged: a reset made by whoever saw the request releases it.
        context.Features.Set(new ArrivedBeforeReset(_state.NextIndexReset));
        _requests.Add(new ConsulRequest(request.Method, request.Path.Value ?? "/", request.QueryString.Value ?? ""));
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping);
        try
        {
            await _faults.WaitWhileHangingAsync(cancellation.Token);
            context.Response.Headers["X-Consul-Default-ACL-Policy"] = "allow";
            if (_faults.Current == ConsulFault.ServerError)
            {
                await TextAsync(context, 500, "No cluster leader");
                return;
            }

            await RouteAsync(context, cancellation.Token);
        }
        catch (ConsulApiException refusal)
        {
            await TextAsync(context, refusal.StatusCode, refusal.Message);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // The agent went down while the request waited: its connection drops, unanswered.
            context.Abort();
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
    }

    private async Task RouteAsync(HttpContext context, CancellationToken cancellation)
    {
        var path = context.Request.Path.Value ?? "/";
        var method = context.Request.Method;
        var route = _routes.Where(r => r.Matches(path)).MaxBy(r => r.Pattern.Length);
        if (route is null)
        {
            if (path.StartsWith("/v1/", StringComparison.Ordinal))
            {
                throw new ConsulApiException(404, "Invalid URL path: not a recognized HTTP API endpoint");
            }

            context.Response.StatusCode = 404;
            return;
        }

        if (method == HttpMethods.Options)
        {
            context.Response.Headers.Allow = $"OPTIONS,{route.Method}";
            return;
        }

        if (method != route.Method)
        {
            context.Response.Headers.Allow = $"OPTIONS,{route.Method}";
            throw new ConsulApiException(405, $"method {method} not allowed");
        }

        await route.Handle(context, path[route.Pattern.Length..], cancellation);
    }

    private async Task RegisterAsync(HttpContext context, string rest, CancellationToken cancellation)
    {
        var body = await new StreamReader(context.Request.Body, Encoding.UTF8).ReadToEndAsync(cancellation);
        var definition = ServiceDefinition.Parse(body);
        var replaceExistingChecks = context.Request.Query.TryGetValue("replace-existing-checks", out var replace)
            && (replace.ToString().Length == 0 || GoBool(replace.ToString()) == true);
        _state.Register(definition, replaceExistingChecks);
    }

    private Task DeregisterAsync(HttpContext context, string serviceId, CancellationToken cancellation)
    {
        if (!_state.Deregister(serviceId, "deregistered through the API"))
        {
            throw new ConsulApiException(404, $"Unknown service ID \"{serviceId}\". Ensure that the service ID is passed, not the service name.");
        }

        return Task.CompletedTask;
    }

    private Task UpdateTtlAsync(HttpContext context, string checkId, string status)
    {
        _state.UpdateTtl(checkId, status, context.Request.Query["note"].ToString());
        return Task.CompletedTask;
    }

    private async Task UpdateCheckAsync(HttpContext context, string checkId, CancellationToken cancellation)
    {
        var body = await new StreamReader(context.Request.Body, Encoding.UTF8).ReadToEndAsync(cancellation);
        var update = GoJsonObject.Decode(body, "agent.checkUpdate");
        var status = update.String("Status") ?? "";
        if (!CheckStatus.IsValid(status))
        {
            throw new ConsulApiException(400, $"Invalid check status: '{status}'");
        }

        _state.UpdateTtl(checkId, status, update.String("Output") ?? "");
    }

    private Task AgentServicesAsync(HttpContext context, string rest, CancellationToken cancellation)
    {
        var services = _state.View().Registry.Services;
        return JsonAsync(context, new SortedDictionary<string, AgentServiceJson>(
            services.ToDictionary(s => s.Id, s => ConsulJson.AgentService(s, _node)), StringComparer.Ordinal));
    }

    private Task AgentChecksAsync(HttpContext context, string rest, CancellationToken cancellation)
    {
        var services = _state.View().Registry.Services;
        return JsonAsync(context, new SortedDictionary<string, CheckJson>(
            services.SelectMany(s => s.Checks.Select(c => ConsulJson.Check(c, s, _node))).ToDictionary(c => c.CheckId), StringComparer.Ordinal));
    }

    /// <summary>
    /// <c>GET /v1/health/service/{name}</c>: the instances with their node and checks. <c>?passing</c>
    /// keeps the instances whose every check is passing; <c>?tag=</c> those with all the tags;
    /// <c>?index=</c> blocks until the service's index passes it.
    /// </summary>
    private async Task HealthServiceAsync(HttpContext context, string serviceName, CancellationToken cancellation)
    {
        var query = context.Request.Query;
        var consistency = Consistency(query);
        var (minIndex, wait) = Wait(query);
        var passingOnly = query.TryGetValue("passing", out var passing)
            && (passing.ToString().Length == 0 || (GoBool(passing.ToString()) ?? throw new ConsulApiException(400, "Invalid value for ?passing")));
        var tags = query["tag"].OfType<string>().ToList();
        RefuseFilter(query);
        if (_faults.Current == ConsulFault.Garbage)
        {
            await GarbageAsync(context);
            return;
        }

        var (instances, index) = await BlockAsync(context, minIndex, wait, view =>
        {
            IEnumerable<RegisteredService> found = _faults.Current == ConsulFault.EmptyServiceList ? [] : view.Registry.Instances(serviceName);
            return (found.ToList(), view.IndexOf(serviceName));
        }, cancellation);

        var answer = instances
            .Where(s => tags.All(tag => s.Tags.Contains(tag, StringComparer.OrdinalIgnoreCase)))
            .Where(s => !passingOnly || s.IsPassing)
            .Select(s => ConsulJson.HealthEntry(s, _node))
            .ToList();
        SetQueryMeta(context, index, consistency);
        await JsonAsync(context, answer);
    }

    /// <summary><c>GET /v1/catalog/services</c>: every service name with the tags of its instances; blocking.</summary>
    private async Task CatalogServicesAsync(HttpContext context, string rest, CancellationToken cancellation)
    {
        var query = context.Request.Query;
        var consistency = Consistency(query);
        var (minIndex, wait) = Wait(query);
        RefuseFilter(query);
        if (_faults.Current == ConsulFault.Garbage)
        {
            await GarbageAsync(context);
            return;
        }

        var (services, index) = await BlockAsync(context, minIndex, wait, view =>
        {
            IEnumerable<RegisteredService> found = _faults.Current == ConsulFault.EmptyServiceList ? [] : view.Registry.Services;
            return (found.ToList(), view.ServicesIndex);
        }, cancellation);

        var answer = new SortedDictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal) { ["consul"] = [] };
        foreach (var group in services.GroupBy(s => s.Name))
        {
            answer[group.Key] = [.. group.SelectMany(s => s.Tags).Distinct().Order(StringComparer.Ordinal)];
        }

        SetQueryMeta(context, index, consistency);
        await JsonAsync(context, answer);
    }

    /// <summary>
    /// A blocking query (<c>api-docs/features/blocking.mdx</c>): without an index, or once the result's
    /// index is past the caller's, answers at once; otherwise waits for a change until the wait ends.
    /// An index reset (as at a Consul restart) releases every waiting query at once.
    /// </summary>
    private async Task<(T Result, ulong Index)> BlockAsync<T>(HttpContext context, ulong minIndex, TimeSpan wait, Func<AgentView, (T Result, ulong Index)> read, CancellationToken cancellation)
    {
        var started = TimeProvider.System.GetTimestamp();
        var indexReset = context.Features.Get<ArrivedBeforeReset>()?.Reset ?? _state.NextIndexReset;
        while (true)
        {
            var view = _state.View();
            var (result, index) = read(view);
            var remaining = wait - TimeProvider.System.GetElapsedTime(started);
            if (minIndex == 0 || index > minIndex || indexReset.IsCompleted || remaining <= TimeSpan.Zero)
            {
                return (result, Math.Max(1, index));
            }

            try
            {
                await Task.WhenAny(view.Changed, indexReset).WaitAsync(remaining, cancellation);
            }
            catch (TimeoutException)
            {
            }
        }
    }

    /// <summary>
    /// <c>?index=</c> and <c>?wait=</c> as Consul's <c>parseWait</c> reads them: the wait defaults to 5
    /// minutes, is cut to 10, and gets up to a sixteenth more at random.
    /// </summary>
    private static (ulong MinIndex, TimeSpan Wait) Wait(IQueryCollection query)
    {
        var wait = TimeSpan.Zero;
        if (query["wait"].ToString() is { Length: > 0 } waitText && !GoDuration.TryParse(waitText, out wait, out _))
        {
            throw new ConsulApiException(400, "Invalid wait time");
        }

        ulong minIndex = 0;
        if (query["index"].ToString() is { Length: > 0 } indexText && !ulong.TryParse(indexText, System.Globalization.NumberStyles.None, null, out minIndex))
        {
            throw new ConsulApiException(400, "Invalid index");
        }

        wait = wait <= TimeSpan.Zero ? DefaultWait : wait > MaximumWait ? MaximumWait : wait;
        return (minIndex, wait + wait / 16 * Random.Shared.NextDouble());
    }

    private static string Consistency(IQueryCollection query)
    {
        var stale = query.ContainsKey("stale");
        var consistent = query.ContainsKey("consistent");
        if (stale && consistent)
        {
            throw new ConsulApiException(400, "Cannot specify ?stale with ?consistent, conflicting semantics.");
        }

        return stale ? "stale" : consistent ? "consistent" : "leader";
    }

    /// <summary>The stand-in does not evaluate Consul's filter expressions: it says so rather than ignore one.</summary>
    private static void RefuseFilter(IQueryCollection query)
    {
        if (query.ContainsKey("filter"))
        {
            throw new ConsulApiException(400, "Failed to create boolean expression evaluator: ?filter is not supported by the Consul stand-in");
        }
    }

    private static void SetQueryMeta(HttpContext context, ulong index, string consistency)
    {
        var headers = context.Response.Headers;
        headers["X-Consul-Index"] = index.ToString(System.Globalization.CultureInfo.InvariantCulture);
        headers["X-Consul-KnownLeader"] = "true";
        headers["X-Consul-LastContact"] = "0";
        headers["X-Consul-Effective-Consistency"] = consistency;
        headers["X-Consul-Query-Backend"] = "blocking-query";
    }

    /// <summary>Go's <c>strconv.ParseBool</c>: null when the text is none of its words.</summary>
    private static bool? GoBool(string text) => text switch
    {
        "1" or "t" or "T" or "TRUE" or "true" or "True" => true,
        "0" or "f" or "F" or "FALSE" or "false" or "False" => false,
        _ => null,
    };

    private static Task GarbageAsync(HttpContext context) =>
        WriteAsync(context, 200, "application/json", Encoding.UTF8.GetBytes("<html><body>upstream sent garbage: [{\"Node\": </body></html>"));

    private static Task JsonAsync(HttpContext context, object value) =>
        WriteAsync(context, 200, "application/json", ConsulJson.Serialize(value));

    private static Task TextAsync(HttpContext context, int statusCode, string text) =>
        WriteAsync(context, statusCode, PlainText, Encoding.UTF8.GetBytes(text));

    /// <summary>A whole body at once, with its length, as Go's server sends a small answer.</summary>
    private static Task WriteAsync(HttpContext context, int statusCode, string contentType, byte[] body)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = contentType;
        context.Response.ContentLength = body.Length;
        return context.Response.Body.WriteAsync(body).AsTask();
    }
}

/// <summary>The index reset a request arrived before (it releases the request if the request blocks).</summary>
internal sealed record ArrivedBeforeReset(Task Reset);
