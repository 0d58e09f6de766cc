using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Workshop.Testing.Otlp;

namespace Workshop.Testing.Tests.Otlp;

/// <summary>
/// The OTLP stand-in decodes what OpenTelemetry's own OTLP exporter sends (the exporter the services
/// use, over http/protobuf), and answers as the OTLP/HTTP specification says a receiver does.
/// </summary>
public sealed class OtlpStandInTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Decodes_TheSpansTheRealExporterSends_WithIdsParentsKindsAttributesAndStatus()
    {
        await using var receiver = await OtlpStandIn.StartAsync();
        using var source = new ActivitySource($"contract-{Guid.NewGuid():N}");
        using var tracing = Tracing(receiver, source.Name, "contract-service");

        string traceId, parentId, childId;
        using (var parent = source.StartActivity("GET /users/{id}", ActivityKind.Server)!)
        {
            parent.SetTag("http.route", "/users/{id}");
            parent.SetTag("http.response.status_code", 200);
            parent.SetTag("retried", true);
            parent.SetTag("ratio", 0.5);
            parent.SetTag("ids", new[] { "a", "b" });
            using (var child = source.StartActivity("GET", ActivityKind.Client)!)
            {
                child.SetStatus(ActivityStatusCode.Error, "accounts answered 500");
                child.AddEvent(new ActivityEvent("retry", tags: new ActivityTagsCollection { ["attempt"] = 1 }));
                childId = child.SpanId.ToHexString();
            }

            traceId = parent.TraceId.ToHexString();
            parentId = parent.SpanId.ToHexString();
        }

        Assert.True(tracing.ForceFlush(10_000));
        var spans = await receiver.WaitForSpansAsync(s => s.Count(x => x.TraceId == traceId) == 2, Bound);

        var server = Assert.Single(spans, s => s.SpanId == parentId);
        Assert.Null(server.ParentSpanId);
        Assert.Equal(OtlpSpanKind.Server, server.Kind);
        Assert.Equal("GET /users/{id}", server.Name);
        Assert.Equal("contract-service", server.Service);
        Assert.Equal(source.Name, server.Scope);
        Assert.Equal("/users/{id}", server.Attribute("http.route"));
        Assert.Equal(200L, server.Attributes["http.response.status_code"]);
        Assert.Equal(true, server.Attributes["retried"]);
        Assert.Equal(0.5, server.Attributes["ratio"]);
        Assert.Equal(new object?[] { "a", "b" }, (object?[])server.Attributes["ids"]!);
        Assert.Equal(OtlpSpanStatus.Unset, server.Status);
        Assert.True(server.End >= server.Start);

        var client = Assert.Single(spans, s => s.SpanId == childId);
        Assert.Equal(parentId, client.ParentSpanId);
        Assert.Equal(OtlpSpanKind.Client, client.Kind);
        Assert.Equal(OtlpSpanStatus.Error, client.Status);
        Assert.Equal("accounts answered 500", client.StatusMessage);
        var retry = Assert.Single(client.Events);
        Assert.Equal("retry", retry.Name);
        Assert.Equal(1L, retry.Attributes["attempt"]);
        Assert.Equal(traceId, Assert.Single(receiver.Trace(traceId), s => s.ParentSpanId is null).TraceId);
    }

    [Fact]
    public async Task Accepts_AGzippedExport_AsAnExporterSendsWithCompressionOn()
    {
        // OTEL_EXPORTER_OTLP_COMPRESSION=gzip turns this on in the exporter; an environment variable
        // would reach every test in this process, so the request is built here.
        await using var receiver = await OtlpStandIn.StartAsync();
        var request = new Workshop.Testing.Otlp.Proto.ExportTraceServiceRequest();
        var span = new Workshop.Testing.Otlp.Proto.Span
        {
            TraceId = Google.Protobuf.ByteString.CopyFrom(Convert.FromHexString("0af7651916cd43dd8448eb211c80319c")),
            SpanId = Google.Protobuf.ByteString.CopyFrom(Convert.FromHexString("b7ad6b7169203331")),
            Name = "zipped",
            Kind = Workshop.Testing.Otlp.Proto.Span.Types.SpanKind.Internal,
        };
        var scope = new Workshop.Testing.Otlp.Proto.ScopeSpans();
        scope.Spans.Add(span);
        var resource = new Workshop.Testing.Otlp.Proto.ResourceSpans { Resource = new() };
        resource.Resource.Attributes.Add(new Workshop.Testing.Otlp.Proto.KeyValue { Key = "service.name", Value = new() { StringValue = "gzip-service" } });
        resource.ScopeSpans.Add(scope);
        request.ResourceSpans.Add(resource);
        using var zipped = new MemoryStream();
        await using (var gzip = new System.IO.Compression.GZipStream(zipped, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync(Google.Protobuf.MessageExtensions.ToByteArray(request));
        }

        using var content = new ByteArrayContent(zipped.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        content.Headers.ContentEncoding.Add("gzip");
        using var http = new HttpClient { BaseAddress = receiver.BaseAddress, Timeout = Bound };
        using var response = await http.PostAsync("v1/traces", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(receiver.Spans);
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", received.TraceId);
        Assert.Equal("b7ad6b7169203331", received.SpanId);
        Assert.Equal(("gzip-service", "zipped", OtlpSpanKind.Internal), (received.Service, received.Name, received.Kind));
    }

    [Fact]
    public async Task Refuses_ABodyThatIsNotAnExportRequest_With400_AndAnotherContentType_With415()
    {
        await using var receiver = await OtlpStandIn.StartAsync();
        using var http = new HttpClient { BaseAddress = receiver.BaseAddress, Timeout = Bound };

        using var garbage = new ByteArrayContent([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]);
        garbage.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        using var bad = await http.PostAsync("v1/traces", garbage);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.StartsWith("The body is not an ExportTraceServiceRequest", await bad.Content.ReadAsStringAsync());

        using var json = await http.PostAsync("v1/traces", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, json.StatusCode);

        // An empty request is a valid one, with no spans: 200, as the specification asks.
        using var empty = new ByteArrayContent([]);
        empty.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        using var ok = await http.PostAsync("v1/traces", empty);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("application/x-protobuf", ok.Content.Headers.ContentType?.MediaType);
        Assert.Empty(receiver.Spans);
        Assert.Equal(3, receiver.Requests);
    }

    [Theory]
    [InlineData(429)]
    [InlineData(503)]
    public async Task Throttles_WithRetryAfter_AndKeepsNothing_UntilTheFaultIsCleared(int status)
    {
        await using var receiver = await OtlpStandIn.StartAsync();
        receiver.Fault = status == 429 ? OtlpFault.Throttled(2) : OtlpFault.Unavailable(2);
        using var source = new ActivitySource($"contract-{Guid.NewGuid():N}");
        using var tracing = Tracing(receiver, source.Name, "throttled-service");

        using (source.StartActivity("dropped"))
        {
        }

        // The span's export was answered, and the stand-in kept nothing of it.
        tracing.ForceFlush(10_000);
        Assert.True(receiver.Requests >= 1);
        Assert.Empty(receiver.Spans);
        using (var http = new HttpClient { BaseAddress = receiver.BaseAddress, Timeout = Bound })
        using (var response = await http.PostAsync("v1/traces", new ByteArrayContent([])))
        {
            Assert.Equal(status, (int)response.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(2), response.Headers.RetryAfter?.Delta);
        }

        receiver.Fault = OtlpFault.None;
        string traceId;
        using (var span = source.StartActivity("kept")!)
        {
            traceId = span.TraceId.ToHexString();
        }

        Assert.True(tracing.ForceFlush(10_000));
        await receiver.WaitForSpansAsync(s => s.Any(x => x.TraceId == traceId), Bound);
    }

    [Fact]
    public async Task Hanging_LeavesTheExporterWaitingUntilItsOwnTimeout()
    {
        await using var receiver = await OtlpStandIn.StartAsync();
        receiver.Fault = OtlpFault.Hanging();
        using var source = new ActivitySource($"contract-{Guid.NewGuid():N}");
        using var tracing = Tracing(receiver, source.Name, "hung-service", timeoutMilliseconds: 500);

        using (source.StartActivity("lost"))
        {
        }

        // The span's end waited for the exporter's own timeout (500 ms), then went on without the span.
        tracing.ForceFlush(10_000);
        Assert.Equal(1, receiver.Requests);
        Assert.Empty(receiver.Spans);
    }

    [Fact]
    public async Task CountingOnly_OnAGivenPort_DecodesAndCountsEverySpan_AndKeepsNone()
    {
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        await using var receiver = await OtlpStandIn.StartAsync(port, keepSpans: false);
        Assert.Equal(port, receiver.BaseAddress.Port);
        using var source = new ActivitySource($"contract-{Guid.NewGuid():N}");
        using var tracing = Tracing(receiver, source.Name, "counted-service");
        for (var i = 0; i < 3; i++)
        {
            using (source.StartActivity($"span {i}"))
            {
            }
        }

        Assert.True(tracing.ForceFlush(10_000));
        Assert.Equal(3, receiver.SpanCount);
        Assert.Equal(3, receiver.Requests);
        Assert.Empty(receiver.Spans);
    }

    /// <summary>A tracer provider that exports each span at once over http/protobuf to the stand-in, as the services' exporter does.</summary>
    private static TracerProvider Tracing(OtlpStandIn receiver, string source, string service, int timeoutMilliseconds = 10_000)
    {
        return Sdk.CreateTracerProviderBuilder()
            .AddSource(source)
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService(service))
            .AddOtlpExporter(options =>
            {
                options.Protocol = OtlpExportProtocol.HttpProtobuf;
                // Set in code, the endpoint is the whole address: the exporter adds no /v1/traces.
                options.Endpoint = new Uri(receiver.BaseAddress, "v1/traces");
                options.ExportProcessorType = ExportProcessorType.Simple;
                options.TimeoutMilliseconds = timeoutMilliseconds;
            })
            .Build()!;
    }
}
