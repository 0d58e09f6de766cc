using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace ServiceDefaults.Resilience;

/// <summary>
/// The resilience of a call from one service to another, as a Polly pipeline around its HttpClient.
/// From the outside in:
/// <list type="number">
/// <item>a total timeout: the caller waits at most <see cref="ResilienceOptions.Timeout"/>, retries included;</item>
/// <item>retry with exponential backoff and jitter, for transient failures (5xx, 408, 429, no connection,
/// an attempt timed out) of requests that are safe to repeat: a POST is never retried, since the first
/// attempt may have done its work before its answer was lost;</item>
/// <item>a circuit breaker: after enough failed attempts no call goes out for a while, and the caller
/// falls back at once instead of waiting for a service that is down;</item>
/// <item>a timeout per attempt, so that a hung instance costs one attempt, not the whole call.</item>
/// </list>
/// The pipeline sits before service discovery: each retry picks an instance again, often another one.
/// </summary>
public static class CallResilience
{
    /// <summary>
    /// Adds the pipeline for calls to <paramref name="service"/> (e.g. "Accounts"), configured from
    /// <c>Resilience:{service}</c>, and its circuit as an entry of <c>/health/dependencies</c> and a metric.
    /// </summary>
    public static IHttpClientBuilder AddCallResilience(this IHttpClientBuilder http, string service)
    {
        var services = http.Services;
        services.AddOptions<ResilienceOptions>(service)
            .BindConfiguration($"{ResilienceOptions.SectionName}:{service}")
            .ValidateDataAnnotations()
            .Validate(o => o.AttemptTimeout <= o.Timeout,
                $"{ResilienceOptions.SectionName}:{service}:AttemptTimeout must not be longer than its Timeout (the whole call).")
            .ValidateOnStart();

        // One circuit per called service, shared by the pipeline (which sets it) and the health entry (which reads it).
        var circuit = new CircuitBreakerStateProvider();
        services.AddHealthChecks().Add(new HealthCheckRegistration(
            $"{service.ToLowerInvariant()} circuit",
            _ => new CircuitHealthCheck(service.ToLowerInvariant(), circuit),
            failureStatus: HealthStatus.Degraded,
            tags: [HealthEndpoints.DependencyTag]));
        // And on /metrics, for Prometheus and its alert.
        CircuitMetrics.Track(service.ToLowerInvariant(), circuit);

        http.AddResilienceHandler(service, (pipeline, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptionsMonitor<ResilienceOptions>>().Get(service);
            var logger = context.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(CallResilience).FullName!);
            var name = service.ToLowerInvariant();

            pipeline.AddTimeout(new HttpTimeoutStrategyOptions { Timeout = options.Timeout, Name = "Total" });

            if (options.MaxRetryAttempts > 0)
            {
                var retry = new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = options.MaxRetryAttempts,
                    Delay = options.RetryDelay,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    OnRetry = args =>
                    {
                        CircuitLog.Retrying(logger, name, args.AttemptNumber + 1, options.MaxRetryAttempts, Describe(args.Outcome), args.RetryDelay.TotalMilliseconds);
                        // In the trace: each attempt is its own client span; the caller's span says why there is another.
                        Activity.Current?.AddEvent(new ActivityEvent("retry", tags: new ActivityTagsCollection
                        {
                            ["retry.attempt"] = args.AttemptNumber + 1,
                            ["retry.reason"] = Describe(args.Outcome),
                            ["retry.delay_ms"] = (long)args.RetryDelay.TotalMilliseconds,
                        }));
                        return ValueTask.CompletedTask;
                    },
                };
                // POST, PATCH and CONNECT keep their first answer: repeating them could do the work twice.
                retry.DisableForUnsafeHttpMethods();
                pipeline.AddRetry(retry);
            }

            pipeline.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
            {
                FailureRatio = options.FailureRatio,
                MinimumThroughput = options.MinimumThroughput,
                SamplingDuration = options.SamplingDuration,
                BreakDuration = options.BreakDuration,
                StateProvider = circuit,
                OnOpened = args =>
                {
                    Activity.Current?.AddEvent(new ActivityEvent("circuit.opened", tags: new ActivityTagsCollection { ["circuit.service"] = name }));
                    CircuitLog.Opened(logger, name, args.BreakDuration.TotalSeconds, Describe(args.Outcome));
                    return ValueTask.CompletedTask;
                },
                OnHalfOpened = _ =>
                {
                    CircuitLog.HalfOpened(logger, name);
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    CircuitLog.Closed(logger, name);
                    return ValueTask.CompletedTask;
                },
            });

            pipeline.AddTimeout(new HttpTimeoutStrategyOptions { Timeout = options.AttemptTimeout, Name = "Attempt" });
        });
        return http;
    }

    /// <summary>What an attempt ended in, for a log line: "500 InternalServerError", "no answer within 1 s".</summary>
    private static string Describe(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Result: { } response } => $"{(int)response.StatusCode} {response.StatusCode}",
        { Exception: TimeoutRejectedException timeout } => $"no answer within {timeout.Timeout.TotalSeconds:0.###} s",
        { Exception: HttpRequestException { HttpRequestError: var error } } => $"no connection ({error})",
        { Exception: { } other } => other.GetType().Name,
        _ => "unknown",
    };
}

/// <summary>The stable log lines of a circuit: one per state change, one per retry.</summary>
internal static partial class CircuitLog
{
    [LoggerMessage(LogLevel.Warning, "Circuit to {Service} OPEN for {BreakSeconds} s after repeated failures (last: {Outcome}): calls fail fast, without reaching {Service}")]
    public static partial void Opened(ILogger logger, string service, double breakSeconds, string outcome);

    [LoggerMessage(LogLevel.Information, "Circuit to {Service} HALF-OPEN: the next call is a trial")]
    public static partial void HalfOpened(ILogger logger, string service);

    [LoggerMessage(LogLevel.Information, "Circuit to {Service} CLOSED: calls go through again")]
    public static partial void Closed(ILogger logger, string service);

    [LoggerMessage(LogLevel.Information, "Retrying the call to {Service} ({Retry} of {MaxRetries}) in {DelayMs:0} ms after {Outcome}")]
    public static partial void Retrying(ILogger logger, string service, int retry, int maxRetries, string outcome, double delayMs);
}
