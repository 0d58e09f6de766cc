using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Accounts.Faults;

/// <summary>
/// A demo switch that makes this instance fail or slow down on purpose, so that an instructor can show
/// a circuit breaker opening in front of the room: <c>PUT /admin/faults {"failureRate": 1}</c>.
/// It acts on the accounts API only (<c>/accounts...</c>): health, OpenAPI and the switches keep
/// answering, so the instance stays in Consul and in the gateway, and its callers meet the faults.
/// Off by default, one per instance, not routed by the gateway. A real service has no such endpoint.
/// </summary>
public sealed partial class FaultSwitch(ILogger<FaultSwitch> logger)
{
    private FaultSettings _settings = FaultSettings.Off;
    private long _requests;
    private long _injectedFailures;

    public FaultSettings Settings => Volatile.Read(ref _settings);

    public FaultState State => new(Settings.FailureRate, Settings.LatencyMs, Interlocked.Read(ref _requests), Interlocked.Read(ref _injectedFailures));

    public void Set(FaultSettings settings)
    {
        Volatile.Write(ref _settings, settings);
        if (settings == FaultSettings.Off)
        {
            LogOff(logger);
        }
        else
        {
            LogOn(logger, settings.FailureRate * 100, settings.LatencyMs);
        }
    }

    /// <summary>Counts an API request, and says whether it is to fail.</summary>
    public bool CountAndDecide()
    {
        Interlocked.Increment(ref _requests);
        var fail = Settings.FailureRate > 0 && Random.Shared.NextDouble() < Settings.FailureRate;
        if (fail)
        {
            Interlocked.Increment(ref _injectedFailures);
        }

        return fail;
    }

    [LoggerMessage(LogLevel.Warning, "Faults ON (PUT /admin/faults): {FailurePercent:0.#}% of API requests fail, {LatencyMs} ms added to each")]
    private static partial void LogOn(ILogger logger, double failurePercent, int latencyMs);

    [LoggerMessage(LogLevel.Information, "Faults OFF: the API answers normally")]
    private static partial void LogOff(ILogger logger);
}

/// <summary>What the switch injects: the share of API requests that fail (0 to 1) and the delay added to each.</summary>
public sealed record FaultSettings(double FailureRate, int LatencyMs)
{
    public static readonly FaultSettings Off = new(0, 0);
}

/// <summary>The switch's settings and what it has counted since the instance started.</summary>
public sealed record FaultState(double FailureRate, int LatencyMs, long Requests, long InjectedFailures);

/// <summary>The body of <c>PUT /admin/faults</c>; a field left out is 0 (so <c>{}</c> switches all faults off).</summary>
/// <param name="FailureRate">The share of API requests answered 500, from 0 to 1.</param>
/// <param name="LatencyMs">Milliseconds added before each API request is handled, from 0 to 60000.</param>
public sealed record FaultRequest(double? FailureRate, int? LatencyMs);

/// <summary>Applies the switch to the accounts API: the delay first, then the failure.</summary>
internal sealed class FaultInjection(RequestDelegate next, FaultSwitch faults)
{
    public async Task InvokeAsync(HttpContext context, IProblemDetailsService problemDetails)
    {
        if (!context.Request.Path.StartsWithSegments("/accounts"))
        {
            await next(context);
            return;
        }

        var fail = faults.CountAndDecide();
        var settings = faults.Settings;
        if (settings.LatencyMs > 0)
        {
            try
            {
                await Task.Delay(settings.LatencyMs, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return; // the caller gave up (its timeout): nobody is left to answer
            }
        }

        if (!fail)
        {
            await next(context);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status500InternalServerError;
        await problemDetails.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status500InternalServerError,
                Title = "Injected fault",
                Detail = $"This accounts instance failed on purpose (PUT /admin/faults, failure rate {settings.FailureRate:0.##}).",
            },
        });
    }
}

public static class FaultSwitchEndpoints
{
    public const int MaxLatencyMs = 60_000;

    public static IServiceCollection AddFaultSwitch(this IServiceCollection services) => services.AddSingleton<FaultSwitch>();

    /// <summary>Runs the accounts API through the switch. After routing, before the endpoints.</summary>
    public static IApplicationBuilder UseFaultSwitch(this IApplicationBuilder app) => app.UseMiddleware<FaultInjection>();

    /// <summary><c>GET /admin/faults</c> shows the settings and the counts; <c>PUT</c> changes the settings.</summary>
    public static IEndpointRouteBuilder MapFaultSwitch(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin/faults").WithTags("Demo switches");
        admin.MapGet("", (FaultSwitch faults) => TypedResults.Ok(faults.State))
            .WithSummary("This instance's injected faults, and the API requests and injected failures counted since it started");
        admin.MapPut("", Results<Ok<FaultState>, ValidationProblem> (FaultRequest request, FaultSwitch faults) =>
            {
                var errors = new Dictionary<string, string[]>();
                if (request.FailureRate is < 0 or > 1 || request.FailureRate is double.NaN)
                {
                    errors["failureRate"] = ["'failureRate' is the share of requests that fail: from 0 (none) to 1 (all), e.g. 0.5."];
                }

                if (request.LatencyMs is < 0 or > MaxLatencyMs)
                {
                    errors["latencyMs"] = [$"'latencyMs' is the delay added to each request: from 0 to {MaxLatencyMs} milliseconds."];
                }

                if (errors.Count > 0)
                {
                    return TypedResults.ValidationProblem(errors);
                }

                faults.Set(new FaultSettings(request.FailureRate ?? 0, request.LatencyMs ?? 0));
                return TypedResults.Ok(faults.State);
            })
            .WithSummary("Makes this instance's API fail (failureRate, 0 to 1) or slow (latencyMs) on purpose; {} switches it off (a demo switch)");
        return app;
    }
}
