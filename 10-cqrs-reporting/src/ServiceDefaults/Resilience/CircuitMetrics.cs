using Polly.CircuitBreaker;
using Prometheus;

namespace ServiceDefaults.Resilience;

/// <summary>
/// A circuit's state on <c>/metrics</c>, as Prometheus models a state: one series per state, 1 for
/// the one the circuit is in and 0 for the others, read at each scrape.
/// <c>resilience_circuit_state{service="accounts",state="open"} == 1</c> is the circuit open.
/// Polly moves an open circuit to half-open when the next call comes, not when the break ends: until
/// then the series says open.
/// </summary>
internal static class CircuitMetrics
{
    private static readonly Gauge State = Metrics.CreateGauge(
        "resilience_circuit_state",
        "The circuit breaker of the calls to a service: 1 for the state it is in (closed, open, half_open, isolated), 0 for the others.",
        "service", "state");

    private static readonly (CircuitState State, string Label)[] States =
    [
        (CircuitState.Closed, "closed"),
        (CircuitState.Open, "open"),
        (CircuitState.HalfOpen, "half_open"),
        (CircuitState.Isolated, "isolated"),
    ];

    public static void Track(string service, CircuitBreakerStateProvider circuit) =>
        Metrics.DefaultRegistry.AddBeforeCollectCallback(() =>
        {
            var current = circuit.CircuitState;
            foreach (var (state, label) in States)
            {
                State.WithLabels(service, label).Set(state == current ? 1 : 0);
            }
        });
}
