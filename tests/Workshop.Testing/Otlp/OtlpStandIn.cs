using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Workshop.Testing.Otlp.Proto;

namespace Workshop.Testing.Otlp;

/// <summary>
/// A stand-in for an OTLP trace receiver (Jaeger v2, an OpenTelemetry Collector), for the tests of
/// the steps that export traces: Jaeger cannot run where the tests run. It serves OTLP/HTTP on
/// 127.0.0.1 as the specification says: <c>POST /v1/traces</c> with a protobuf
/// <c>ExportTraceServiceRequest</c> (<c>Content-Type: application/x-protobuf</c>, gzip allowed),
/// answered <c>200</c> with an <c>ExportTraceServiceResponse</c>; a body that is not one gets a
/// <c>400</c>, another content type a <c>415</c>. It decodes every span it receives
/// (<see cref="Spans"/>), so a test sees what the services really exported.
/// <para>
/// For tests it also answers as a receiver in trouble does (<see cref="Fault"/>: 429, 503 with
/// <c>Retry-After</c>, or no answer at all), and waits for spans (<see cref="WaitForSpansAsync"/>).
/// Left out: OTLP/JSON, gRPC (the services export with <c>http/protobuf</c>), metrics and logs.
/// </para>
/// </summary>
public sealed class OtlpStandIn : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();
    private readonly SemaphoreSlim _received = new(0);
    private readonly bool _keepSpans;
    private int _requests;
    private long _spanCount;

    private OtlpStandIn(WebApplication app, bool keepSpans) => (_app, _keepSpans) = (app, keepSpans);

    /// <summary>The receiver's address: what <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> names (the exporter adds <c>/v1/traces</c>).</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Every span received so far, in the order the requests came.</summary>
    public IReadOnlyCollection<ReceivedSpan> Spans => _spans;

    /// <summary>Export requests received, answered or not.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Spans decoded and accepted so far, kept or not.</summary>
    public long SpanCount => Interlocked.Read(ref _spanCount);

    /// <summary>How the receiver answers the next export requests; <see cref="OtlpFault.None"/> by default.</summary>
    public OtlpFault Fault { get; set; } = OtlpFault.None;

    /// <param name="port">The port on 127.0.0.1; 0: a free one.</param>
    /// <param name="keepSpans">
    /// False: decode every span and count it (<see cref="SpanCount"/>) but keep none, for a long run
    /// under load (the benchmark), where keeping them all would fill the memory.
    /// </param>
    public static async Task<OtlpStandIn> StartAsync(int port = 0, bool keepSpans = true)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        // A batch of spans with their attributes: well under a few megabytes.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = 8 * 1024 * 1024);
        var app = builder.Build();
        var standIn = new OtlpStandIn(app, keepSpans);
        app.MapPost("/v1/traces", standIn.ExportAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        standIn.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        return standIn;
    }

    /// <summary>Waits until the spans received satisfy <paramref name="condition"/>, and returns them.</summary>
    public async Task<IReadOnlyList<ReceivedSpan>> WaitForSpansAsync(Func<IReadOnlyList<ReceivedSpan>, bool> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var spans = _spans.ToList();
            if (condition(spans))
            {
                return spans;
            }

            var left = timeout - deadline.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"The OTLP stand-in did not receive the spans expected within {timeout.TotalSeconds:0.#} s. It received {spans.Count}:"
                    + string.Concat(spans.Select(s => $"{Environment.NewLine}  {s}")));
            }

            await _received.WaitAsync(left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200));
        }
    }

    /// <summary>The spans of one trace, by its id (32 hex digits).</summary>
    public IReadOnlyList<ReceivedSpan> Trace(string traceId) => _spans.Where(s => s.TraceId == traceId).ToList();

    private async Task ExportAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        switch (Fault)
        {
            case { Kind: OtlpFaultKind.Hang }:
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            case { Kind: OtlpFaultKind.Status, Status: var status, RetryAfterSeconds: var retryAfter }:
                if (retryAfter is { } seconds)
                {
                    context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                context.Response.StatusCode = status;
                return;
        }

        var mediaType = context.Request.ContentType?.Split(';')[0].Trim();
        if (!string.Equals(mediaType, "application/x-protobuf", StringComparison.OrdinalIgnoreCase))
        {
            await PlainAsync(context, StatusCodes.Status415UnsupportedMediaType, $"This receiver takes OTLP/HTTP as protobuf (application/x-protobuf), not {mediaType ?? "a body without Content-Type"}.");
            return;
        }

        using var body = new MemoryStream();
        var encoding = context.Request.Headers.ContentEncoding.ToString();
        try
        {
            if (encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase))
            {
                await using var gzip = new GZipStream(context.Request.Body, CompressionMode.Decompress);
                await gzip.CopyToAsync(body, context.RequestAborted);
            }
            else
            {
                await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            }
        }
        catch (InvalidDataException)
        {
            await PlainAsync(context, StatusCodes.Status400BadRequest, "The body is not gzip, though Content-Encoding says so.");
            return;
        }

        ExportTraceServiceRequest request;
        try
        {
            request = ExportTraceServiceRequest.Parser.ParseFrom(body.ToArray());
        }
        catch (InvalidProtocolBufferException e)
        {
            await PlainAsync(context, StatusCodes.Status400BadRequest, $"The body is not an ExportTraceServiceRequest: {e.Message}");
            return;
        }

        foreach (var resourceSpans in request.ResourceSpans)
        {
            var resource = Attributes(resourceSpans.Resource?.Attributes);
            foreach (var scopeSpans in resourceSpans.ScopeSpans)
            {
                foreach (var span in scopeSpans.Spans)
                {
                    var received = ReceivedSpan.From(span, resource, scopeSpans.Scope?.Name ?? "");
                    if (_keepSpans)
                    {
                        _spans.Enqueue(received);
                    }

                    Interlocked.Increment(ref _spanCount);
                }
            }
        }

        _received.Release();
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/x-protobuf";
        await context.Response.Body.WriteAsync(new ExportTraceServiceResponse().ToByteArray(), context.RequestAborted);
    }

    private static async Task PlainAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(message, context.RequestAborted);
    }

    internal static IReadOnlyDictionary<string, object?> Attributes(IEnumerable<KeyValue>? attributes) =>
        (attributes ?? []).ToDictionary(a => a.Key, a => Value(a.Value));

    private static object? Value(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue,
        AnyValue.ValueOneofCase.IntValue => value.IntValue,
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue,
        AnyValue.ValueOneofCase.ArrayValue => value.ArrayValue.Values.Select(Value).ToArray(),
        AnyValue.ValueOneofCase.KvlistValue => Attributes(value.KvlistValue.Values),
        AnyValue.ValueOneofCase.BytesValue => value.BytesValue.ToByteArray(),
        _ => null,
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _received.Dispose();
    }
}

/// <summary>What the stand-in does with export requests: answer normally, answer a status, or not answer.</summary>
public sealed record OtlpFault(OtlpFaultKind Kind, int Status = 200, int? RetryAfterSeconds = null)
{
    public static readonly OtlpFault None = new(OtlpFaultKind.None);

    /// <summary>Too many requests: the exporter may try again later (retryable in OTLP).</summary>
    public static OtlpFault Throttled(int retryAfterSeconds = 1) => new(OtlpFaultKind.Status, StatusCodes.Status429TooManyRequests, retryAfterSeconds);

    /// <summary>The receiver is overloaded or starting (retryable in OTLP).</summary>
    public static OtlpFault Unavailable(int retryAfterSeconds = 1) => new(OtlpFaultKind.Status, StatusCodes.Status503ServiceUnavailable, retryAfterSeconds);

    /// <summary>A failure OTLP says not to retry.</summary>
    public static OtlpFault Failing() => new(OtlpFaultKind.Status, StatusCodes.Status500InternalServerError);

    /// <summary>Accepts the connection and never answers.</summary>
    public static OtlpFault Hanging() => new(OtlpFaultKind.Hang);
}

public enum OtlpFaultKind
{
    None,
    Status,
    Hang,
}

/// <summary>
/// One span as the receiver decoded it. Ids are lower-case hex, as W3C trace context writes them;
/// <see cref="ParentSpanId"/> is null for a root span. <see cref="Service"/> is the resource's
/// <c>service.name</c>; attribute values are string, bool, long, double, arrays and maps of them.
/// </summary>
public sealed record ReceivedSpan(
    string TraceId,
    string SpanId,
    string? ParentSpanId,
    string Name,
    OtlpSpanKind Kind,
    string Service,
    string Scope,
    DateTimeOffset Start,
    DateTimeOffset End,
    IReadOnlyDictionary<string, object?> Attributes,
    IReadOnlyDictionary<string, object?> Resource,
    OtlpSpanStatus Status,
    string? StatusMessage,
    IReadOnlyList<ReceivedEvent> Events)
{
    internal static ReceivedSpan From(Span span, IReadOnlyDictionary<string, object?> resource, string scope) => new(
        Convert.ToHexStringLower(span.TraceId.Span),
        Convert.ToHexStringLower(span.SpanId.Span),
        span.ParentSpanId.IsEmpty ? null : Convert.ToHexStringLower(span.ParentSpanId.Span),
        span.Name,
        (OtlpSpanKind)(int)span.Kind,
        resource.TryGetValue("service.name", out var service) ? service as string ?? "" : "",
        scope,
        FromUnixNanoseconds(span.StartTimeUnixNano),
        FromUnixNanoseconds(span.EndTimeUnixNano),
        OtlpStandIn.Attributes(span.Attributes),
        resource,
        (OtlpSpanStatus)(int)(span.Status?.Code ?? Proto.Status.Types.StatusCode.Unset),
        string.IsNullOrEmpty(span.Status?.Message) ? null : span.Status.Message,
        span.Events.Select(e => new ReceivedEvent(e.Name, FromUnixNanoseconds(e.TimeUnixNano), OtlpStandIn.Attributes(e.Attributes))).ToList());

    /// <summary>An attribute's value as text, or null when the span has no such attribute.</summary>
    public string? Attribute(string key) => Attributes.TryGetValue(key, out var value) ? Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) : null;

    private static DateTimeOffset FromUnixNanoseconds(ulong nanoseconds) =>
        DateTimeOffset.UnixEpoch.AddTicks((long)(nanoseconds / 100));

    public override string ToString() =>
        $"{Service} {Kind} '{Name}' trace {TraceId} span {SpanId} parent {ParentSpanId ?? "(root)"} status {Status}";
}

/// <summary>An event of a span: its name, time and attributes (an exception, a retry).</summary>
public sealed record ReceivedEvent(string Name, DateTimeOffset Time, IReadOnlyDictionary<string, object?> Attributes);

/// <summary>OTLP's span kinds, by their numbers in the specification.</summary>
public enum OtlpSpanKind
{
    Unspecified = 0,
    Internal = 1,
    Server = 2,
    Client = 3,
    Producer = 4,
    Consumer = 5,
}

/// <summary>OTLP's status codes, by their numbers in the specification.</summary>
public enum OtlpSpanStatus
{
    Unset = 0,
    Ok = 1,
    Error = 2,
}
