using System.ComponentModel.DataAnnotations;

namespace ServiceDefaults.Resilience;

/// <summary>
/// How a service protects one call it makes to another service. Bound from "Resilience:{Service}",
/// with classroom numbers: the breaker opens within seconds of accounts failing, in front of the room.
/// <code>
/// "Resilience": {
///   "Accounts": {
///     "Timeout": "00:00:03", "AttemptTimeout": "00:00:01",
///     "MaxRetryAttempts": 2, "RetryDelay": "00:00:00.2",
///     "FailureRatio": 0.5, "MinimumThroughput": 5, "SamplingDuration": "00:00:10", "BreakDuration": "00:00:05"
///   }
/// }
/// </code>
/// Polly's own breaker defaults (100 calls in 30 s) would never open in a classroom.
/// </summary>
public sealed class ResilienceOptions
{
    public const string SectionName = "Resilience";

    /// <summary>The whole call, every attempt and the waits between them included.</summary>
    [Range(typeof(TimeSpan), "00:00:00.1", "00:01:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>One attempt: a hung instance is given up on after this, and the next attempt may go to another.</summary>
    [Range(typeof(TimeSpan), "00:00:00.1", "00:01:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Retries after the first attempt, for requests that are safe to repeat (GET, PUT, DELETE; never POST).</summary>
    [Range(0, 10)]
    public int MaxRetryAttempts { get; set; } = 2;

    /// <summary>The wait before the first retry; it doubles for each next one, with jitter.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The share of failed calls within <see cref="SamplingDuration"/> that opens the circuit.</summary>
    [Range(0.01, 1.0)]
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>Calls within <see cref="SamplingDuration"/> before the ratio counts: all of them failing opens the circuit at this many.</summary>
    [Range(2, 1000)]
    public int MinimumThroughput { get; set; } = 5;

    /// <summary>The window the breaker counts calls in.</summary>
    [Range(typeof(TimeSpan), "00:00:00.5", "00:10:00")]
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the circuit stays open (no calls made) before one trial call half-opens it.</summary>
    [Range(typeof(TimeSpan), "00:00:00.5", "00:10:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);
}
