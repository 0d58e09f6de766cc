using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace ServiceDefaults.Telemetry;

/// <summary>
/// Distributed tracing with OpenTelemetry: every request a service serves and every call it makes is
/// a span, its own business operations too (<see cref="ServiceActivitySource"/>), exported over OTLP
/// to Jaeger. Where to is OpenTelemetry's own configuration, read from the environment or from
/// appsettings.json: <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>,
/// <c>OTEL_SERVICE_NAME</c>, <c>OTEL_TRACES_SAMPLER</c>. Every trace is kept (OpenTelemetry's default,
/// parent-based always-on): a workshop wants to see each request.
/// </summary>
public static class Tracing
{
    public static IHostApplicationBuilder AddTracing(this IHostApplicationBuilder builder)
    {
        // The request span's semantic tags (http.route, the status code) come from the ASP.NET Core
        // instrumentation. ASP.NET Core 10 could set them itself (the AppContext switch
        // Microsoft.AspNetCore.Hosting.SuppressActivityOpenTelemetryData=false), but then both would,
        // at about 1 KB more allocated per request of the chain (bench/README.md): the switch stays off.
        var service = ServiceActivitySource.NameOf(builder.Environment);
        builder.Services.AddSingleton(new ServiceActivitySource(service));
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(builder.Configuration["OTEL_SERVICE_NAME"] ?? service))
            .WithTracing(tracing => tracing
                .AddSource(service)
                // Health probes (Consul's, the gateway's, compose's) and Prometheus's scrapes come every few seconds: not traced.
                .AddAspNetCoreInstrumentation(options => options.Filter = context => !IsHealthProbe(context.Request.Path))
                // Nor the gateway's own probes and the services' talk with Consul: only calls between services.
                .AddHttpClientInstrumentation(options => options.FilterHttpRequestMessage = request => !IsInfrastructureCall(request))
                .AddOtlpExporter());

        // The exporter takes its HttpClient from this named client. The collector is the system's own,
        // like the services and Consul: reached directly, never through a web proxy of the environment.
        builder.Services.AddHttpClient("OtlpTraceExporter").UseSocketsHttpHandler((handler, _) => handler.UseProxy = false);

        // Every log line written within a span names its trace and span: the console formatter "trace"
        // that appsettings.json picks (Logging:Console:FormatterName).
        builder.Logging.AddConsoleFormatter<TraceConsoleFormatter, ConsoleFormatterOptions>();

        // The exporter reports a collector it cannot reach only to EventSource: say it once in the log.
        builder.Services.AddHostedService<ExportFailureLog>();
        return builder;
    }

    private static bool IsHealthProbe(PathString path) => path.StartsWithSegments("/health") || Monitoring.IsScrape(path);

    private static bool IsInfrastructureCall(HttpRequestMessage request) =>
        request.RequestUri is { } uri
        && (uri.AbsolutePath.StartsWith("/health", StringComparison.Ordinal) || uri.AbsolutePath.StartsWith("/v1/", StringComparison.Ordinal));
}

/// <summary>
/// The <see cref="ActivitySource"/> of a service's own spans, named like the service ("users"): one
/// span per business operation, with the ids it concerns as attributes (never names or emails).
/// </summary>
public sealed class ServiceActivitySource(string name) : IDisposable
{
    public ActivitySource Source { get; } = new(name);

    public static string NameOf(IHostEnvironment environment) => environment.ApplicationName.ToLowerInvariant();

    /// <summary>Starts an internal span for a business operation ("users.get"), as a child of the current one.</summary>
    public Activity? Start(string operation) => Source.StartActivity(operation, ActivityKind.Internal);

    public void Dispose() => Source.Dispose();
}
