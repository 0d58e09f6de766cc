using Prometheus;

namespace Reporting;

/// <summary>The projection on <c>/metrics</c>: what it applied, skipped and set aside, and how far behind it is.</summary>
public static class ReportingMetrics
{
    public static readonly Counter EventsApplied = Metrics.CreateCounter(
        "reporting_events_applied_total", "Events applied to the reports, once each.", "type");

    public static readonly Counter DuplicatesSkipped = Metrics.CreateCounter(
        "reporting_duplicates_skipped_total", "Events delivered again after they had been applied, and skipped.");

    public static readonly Counter DeadLettered = Metrics.CreateCounter(
        "reporting_dead_lettered_total", "Messages that could not be read (not an event, or of an unknown type), set aside in the dead-letter queue.");

    /// <summary>From the change at its service to the report showing it: outbox, relay, broker and projection.</summary>
    public static readonly Histogram ProjectionLag = Metrics.CreateHistogram(
        "reporting_projection_lag_seconds", "Time from an event's change at its service to its application to the reports.",
        new HistogramConfiguration { Buckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });

    /// <summary>Creates the series, so /metrics shows them at 0 from the start.</summary>
    public static void Publish()
    {
        foreach (var type in Messaging.IntegrationEvents.Types.Keys)
        {
            EventsApplied.WithLabels(type);
        }

        _ = (DuplicatesSkipped, DeadLettered, ProjectionLag);
    }
}
