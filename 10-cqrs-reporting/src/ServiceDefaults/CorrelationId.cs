using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ServiceDefaults;

/// <summary>
/// One id per request from the edge to the last service: the gateway creates it when the caller sent
/// none, every service logs it and passes it on in the <c>X-Correlation-Id</c> header.
/// </summary>
public static partial class CorrelationId
{
    public const string HeaderName = "X-Correlation-Id";

    // The id travels with the request's async flow, as Activity.Current does, so that an HttpClient
    // call made while handling the request finds it. IHttpContextAccessor would find it too, but
    // registering that accessor makes ASP.NET Core allocate a fresh HttpContext for every request
    // instead of reusing one per connection: about 400 bytes a request (bench/README.md).
    private static readonly AsyncLocal<string?> CurrentId = new();

    /// <summary>The id of the request being handled, on this async flow; null outside a request.</summary>
    public static string? Current
    {
        get => CurrentId.Value;
        internal set => CurrentId.Value = value;
    }

    /// <summary>An incoming id is kept when it is short and plain; anything else is replaced, never echoed.</summary>
    internal static bool IsAcceptable(string? id) => id is not null && AcceptablePattern().IsMatch(id);

    internal static string New() => Guid.NewGuid().ToString("N");

    [GeneratedRegex(@"^[A-Za-z0-9._:-]{1,64}$")]
    private static partial Regex AcceptablePattern();
}

/// <summary>Takes or creates the correlation id, returns it to the caller, and logs one line per request with it.</summary>
internal sealed partial class CorrelationIdMiddleware(RequestDelegate next, ILogger<CorrelationIdMiddleware> logger)
{
    public Task InvokeAsync(HttpContext context)
    {
        var incoming = context.Request.Headers[CorrelationId.HeaderName].ToString();
        var id = CorrelationId.IsAcceptable(incoming) ? incoming : CorrelationId.New();

        CorrelationId.Current = id;
        // On the request too, so a proxy forwarding this request passes the same id downstream.
        context.Request.Headers[CorrelationId.HeaderName] = id;
        // Returned to the caller as the answer starts, whatever happened to the headers meanwhile (an
        // error handler clears them). The callback is static and reads the id back from the request's
        // header, so registering it allocates no closure and no delegate per request.
        context.Response.OnStarting(static state =>
        {
            var http = (HttpContext)state;
            http.Response.Headers[CorrelationId.HeaderName] = http.Request.Headers[CorrelationId.HeaderName];
            return Task.CompletedTask;
        }, context);

        // Health probes come every few seconds from the platform: Debug, so they do not drown the log.
        var level = context.Request.Path.StartsWithSegments("/health") ? LogLevel.Debug : LogLevel.Information;
        // With the request's line turned off (a load test logs warnings only), there is nothing left to
        // do after the request, and no reason to wait for it: that wait costs an allocation per request.
        return logger.IsEnabled(level) ? InvokeAndLogAsync(context, level, id) : next(context);
    }

    private async Task InvokeAndLogAsync(HttpContext context, LogLevel level, string id)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            LogRequest(logger, level, context.Request.Method, context.Request.Path + context.Request.QueryString,
                context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds, id);
        }
    }

    [LoggerMessage("{Method} {Path} answered {StatusCode} in {ElapsedMs:0} ms, correlation id {CorrelationId}")]
    private static partial void LogRequest(ILogger logger, LogLevel level, string method, string path, int statusCode, double elapsedMs, string correlationId);
}

/// <summary>Puts the current request's correlation id on every outgoing HttpClient call.</summary>
internal sealed class CorrelationIdHandler : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var id = CorrelationId.Current;
        if (id is not null && !request.Headers.Contains(CorrelationId.HeaderName))
        {
            request.Headers.Add(CorrelationId.HeaderName, id);
        }

        return base.SendAsync(request, cancellationToken);
    }
}
