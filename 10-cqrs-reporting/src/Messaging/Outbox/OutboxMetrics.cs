using Prometheus;

namespace Messaging.Outbox;

/// <summary>The outbox on <c>/metrics</c>: how many events wait, and how many were published.</summary>
public static class OutboxMetrics
{
    public static readonly Gauge Backlog = Metrics.CreateGauge(
        "outbox_backlog", "Events recorded in the outbox and not yet confirmed by the broker.");

    public static readonly Counter Published = Metrics.CreateCounter(
        "outbox_published_total", "Events the broker confirmed.");

    /// <summary>Creates the series, so /metrics shows them at 0 from the start.</summary>
    public static void Publish() => _ = (Backlog, Published);
}
