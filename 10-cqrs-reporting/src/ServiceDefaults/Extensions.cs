using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ServiceDefaults.Discovery;
using ServiceDefaults.Telemetry;

namespace ServiceDefaults;

/// <summary>The defaults every service of the workshop starts from.</summary>
public static class Extensions
{
    /// <summary>Largest request body a service accepts. The APIs take small JSON documents only.</summary>
    public const long MaxRequestBodyBytes = 16 * 1024;

    public static IHostApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder)
    {
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes);

        // Bad input becomes a 4xx ProblemDetails naming what is wrong, never a 500.
        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
            context.ProblemDetails.Detail ??= Describe(context.HttpContext, context.ProblemDetails.Status));
        // Also for a caller that does not accept JSON (a browser, an XML client): after the framework's writer.
        builder.Services.AddSingleton<IProblemDetailsWriter, ProblemDetailsForAnyAccept>();
        builder.Services.AddExceptionHandler<BadRequestExceptionHandler>();
        builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        builder.Services.Configure<JsonOptions>(options =>
        {
            // A misspelt field ("nmae") is an error the caller should hear about, not a silent null.
            options.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
            options.SerializerOptions.AllowDuplicateProperties = false;
            // An amount is a JSON number: "10" in quotes is a 400, as "ten" is (the web defaults would take it).
            options.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
        });

        // Every outgoing HttpClient call carries the correlation id of the request that caused it.
        builder.Services.AddTransient<CorrelationIdHandler>();
        builder.Services.ConfigureHttpClientDefaults(http => http.AddHttpMessageHandler<CorrelationIdHandler>());

        // Each instance registers in Consul; clients with .AddServiceDiscovery() find services through it.
        builder.AddConsulDiscovery();

        // Every request and every call between services is a span of a trace, exported over OTLP.
        builder.AddTracing();

        // GET /metrics for Prometheus: .NET's meters, Polly's, the process, and the business counters.
        builder.AddMonitoring();

        builder.Services.AddHealthChecks();
        builder.Services.AddOpenApi();
        return builder;
    }

    public static WebApplication UseServiceDefaults(this WebApplication app)
    {
        app.UseMiddleware<CorrelationIdMiddleware>();
        app.UseInstanceHeader();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        // HEAD answered as GET: before routing, which picks the endpoint by method.
        app.UseMiddleware<HeadAsGet>();
        app.UseRouting();

        app.MapHealthEndpoints();
        app.MapMonitoring();
        app.MapOpenApi();
        return app;
    }

    /// <summary>
    /// What the framework's own 4xx answers (no route, wrong method, body too large or not JSON) should
    /// tell the caller; they carry a title only.
    /// </summary>
    private static string? Describe(HttpContext http, int? status) => status switch
    {
        StatusCodes.Status404NotFound when http.GetEndpoint() is null =>
            $"No endpoint matches {http.Request.Method} {http.Request.Path}.",
        StatusCodes.Status405MethodNotAllowed when http.Response.Headers.Allow.Count > 0 =>
            $"{http.Request.Method} is not allowed on {http.Request.Path}; it takes {http.Response.Headers.Allow}.",
        StatusCodes.Status413PayloadTooLarge => $"The request body may be at most {MaxRequestBodyBytes} bytes.",
        StatusCodes.Status415UnsupportedMediaType => "Send the body as JSON with the header 'Content-Type: application/json'.",
        _ => null,
    };
}
