using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Prometheus;

namespace ServiceDefaults.Telemetry;

/// <summary>
/// Metrics for Prometheus: every service answers <c>GET /metrics</c> in the Prometheus text format
/// (prometheus-net), and Prometheus scrapes it. What it publishes:
/// <list type="bullet">
/// <item>.NET's own meters (<see cref="PublishedMeters"/>): the requests a service serves and how long
/// they take, the calls it makes, Kestrel's connections, the runtime (GC, thread pool, memory);</item>
/// <item>Polly's events (retries, timeouts, the circuit opening) and the circuit's state
/// (<see cref="Resilience.CallResilience"/>);</item>
/// <item>the process (CPU seconds, resident memory, start time);</item>
/// <item>each service's business counters, declared where the business happens (<c>UsersMetrics</c>,
/// <c>AccountsMetrics</c>).</item>
/// </list>
/// </summary>
public static class Monitoring
{
    /// <summary>The .NET meters /metrics publishes, by name.</summary>
    public static readonly IReadOnlySet<string> PublishedMeters = new HashSet<string>(StringComparer.Ordinal)
    {
        "Microsoft.AspNetCore.Hosting",        // http.server.request.duration, http.server.active_requests
        "Microsoft.AspNetCore.Server.Kestrel", // kestrel.active_connections, kestrel.connection.duration
        "System.Net.Http",                     // http.client.request.duration: the calls to other services
        "System.Runtime",                      // dotnet.gc.*, dotnet.thread_pool.*, dotnet.process.memory.working_set
        "Polly",                               // resilience.polly.strategy.events: OnRetry, OnTimeout, OnCircuitOpened ...
    };

    /// <summary>Durations in seconds (the HTTP meters): 5 ms to 10 s, as .NET advises for them.</summary>
    private static readonly double[] SecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    /// <summary>Durations in milliseconds (Polly's meter): the same range.</summary>
    private static readonly double[] MillisecondsBuckets = [.. SecondsBuckets.Select(s => s * 1000)];

    public static IHostApplicationBuilder AddMonitoring(this IHostApplicationBuilder builder)
    {
        // prometheus-net's defaults also publish its own debug metrics and the older EventCounters,
        // which repeat what the meters say: the process metrics stay. Its own meter adapter would
        // start listening at the first scrape, missing every request before it: this one listens
        // from the start of the service.
        Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions
        {
            SuppressProcessMetrics = false,
            SuppressDebugMetrics = true,
            SuppressEventCounters = true,
            SuppressMeters = true,
        });
        builder.Services.AddSingleton<MeterListening>();
        builder.Services.AddHostedService(services => services.GetRequiredService<MeterListening>());
        return builder;
    }

    /// <summary>Serves <c>GET /metrics</c> on the service's own port, beside <c>/health</c>.</summary>
    public static WebApplication MapMonitoring(this WebApplication app)
    {
        app.MapMetrics(MetricsPath);
        return app;
    }

    public const string MetricsPath = "/metrics";

    /// <summary>Requests that are not the service's work: Prometheus's scrapes, as health probes are.</summary>
    public static bool IsScrape(PathString path) => path.StartsWithSegments(MetricsPath);

    /// <summary>
    /// The instruments published: those of <see cref="PublishedMeters"/>, less the runtime's counts
    /// that are not histograms (dotnet.assembly.count ...): Prometheus keeps the suffix _count for
    /// histograms and summaries, and promtool says so.
    /// </summary>
    internal static bool IsPublished(Instrument instrument) =>
        PublishedMeters.Contains(instrument.Meter.Name)
        && !(instrument.Meter.Name == "System.Runtime" && instrument.Name.EndsWith("count", StringComparison.Ordinal));

    internal static double[] BucketsFor(Instrument instrument)
    {
        if (instrument is Histogram<double> { Advice.HistogramBucketBoundaries: { Count: > 0 } advised })
        {
            return [.. advised];
        }

        return instrument.Unit == "ms" ? MillisecondsBuckets : SecondsBuckets;
    }
}

/// <summary>prometheus-net's meter adapter, listening from the service's start to its end.</summary>
internal sealed class MeterListening : IHostedService, IDisposable
{
    private IDisposable? _adapter;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _adapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            InstrumentFilterPredicate = Monitoring.IsPublished,
            // prometheus-net gives every histogram the same buckets unless told: the ones for its unit.
            ResolveHistogramBuckets = Monitoring.BucketsFor,
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _adapter?.Dispose();
}
