using System.Diagnostics.Tracing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ServiceDefaults.Telemetry;

/// <summary>
/// Says once, in the service's log, that its traces are not exported. OpenTelemetry's OTLP exporter
/// reports a collector it cannot reach (no Jaeger started, a wrong address, a collector that refuses)
/// only to its EventSource and drops the batch; the service itself serves on as before. This listens
/// to that EventSource and writes one warning, the first time, with the exporter's own words.
/// </summary>
internal sealed partial class ExportFailureLog : EventListener, IHostedService
{
    private const string ExporterEventSource = "OpenTelemetry-Exporter-OpenTelemetryProtocol";
    private readonly ILogger<ExportFailureLog> _logger;
    private readonly string _endpoint;
    private int _said;

    public ExportFailureLog(ILogger<ExportFailureLog> logger, IConfiguration configuration)
    {
        _logger = logger;
        _endpoint = configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] ?? "the default OTLP endpoint";
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == ExporterEventSource)
        {
            EnableEvents(eventSource, EventLevel.Warning);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        // (The base constructor may report events before this one has set the logger.)
        if (_logger is null || eventData.Level > EventLevel.Warning || Interlocked.Exchange(ref _said, 1) == 1)
        {
            return;
        }

        var reason = eventData.Message is { } format && eventData.Payload is { } payload
            ? string.Format(System.Globalization.CultureInfo.InvariantCulture, format, payload.ToArray())
            : eventData.EventName ?? "an export failed";
        LogNotExported(_logger, _endpoint, reason);
    }

    [LoggerMessage(LogLevel.Warning, "Traces are not exported: the OTLP collector at {Endpoint} did not take them ({Reason}). The service serves on; start Jaeger to see its traces (said once)")]
    private static partial void LogNotExported(ILogger logger, string endpoint, string reason);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }
}
