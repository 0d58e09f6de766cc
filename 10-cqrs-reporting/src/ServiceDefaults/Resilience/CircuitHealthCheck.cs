using Microsoft.Extensions.Diagnostics.HealthChecks;
using Polly.CircuitBreaker;

namespace ServiceDefaults.Resilience;

/// <summary>
/// A circuit's state as a health entry of <c>/health/dependencies</c>: Healthy while closed, Degraded
/// while open or half-open. Never part of readiness: this instance still serves, with its fallback.
/// </summary>
internal sealed class CircuitHealthCheck(string service, CircuitBreakerStateProvider circuit) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["state"] = circuit.CircuitState.ToString() };
        return Task.FromResult(circuit.CircuitState switch
        {
            CircuitState.Closed => HealthCheckResult.Healthy($"Closed: calls to {service} go through.", data),
            CircuitState.HalfOpen => HealthCheckResult.Degraded($"Half-open: a trial call to {service} decides whether the circuit closes.", data: data),
            CircuitState.Isolated => HealthCheckResult.Degraded($"Isolated: calls to {service} are held off by hand.", data: data),
            _ => HealthCheckResult.Degraded($"Open: calls to {service} fail fast without reaching it, and callers use their fallback.", data: data),
        });
    }
}
