using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ServiceDefaults;

/// <summary>
/// What a service says about its health, for whoever routes traffic to it:
/// <list type="bullet">
/// <item><c>/health/live</c>: the process is up and answers. No checks run: a failing dependency
/// must not get a live process restarted.</item>
/// <item><c>/health/ready</c>: the instance can do its work: its own dependencies (its database)
/// answer, each check within its timeout. Consul, the gateway and compose ask this one. Another
/// service it calls is not its own dependency: were accounts in users' readiness, accounts going
/// down would take every users instance out of the gateway, also for the requests that never need
/// accounts.</item>
/// <item><c>/health/dependencies</c>: how this instance's calls to other services go: one entry per
/// circuit, Degraded while it is open. Still 200: an open circuit is no reason to take this instance
/// out of traffic, since it answers with its fallback.</item>
/// <item><c>/health</c>: every check, answered "Healthy" or "Unhealthy" as in the steps before.</item>
/// </list>
/// Ready and live answer JSON that lists each check with its status and duration, 200 while
/// healthy and 503 otherwise.
/// </summary>
public static class HealthEndpoints
{
    /// <summary>The tag of the checks readiness runs (Storage's database check carries it).</summary>
    public const string ReadyTag = "ready";

    /// <summary>The tag of the checks that report on the services this one calls (the circuits).</summary>
    public const string DependencyTag = "dependency";

    public static WebApplication MapHealthEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/health");
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteJsonAsync });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag), ResponseWriter = WriteJsonAsync });
        app.MapHealthChecks("/health/dependencies", new HealthCheckOptions { Predicate = check => check.Tags.Contains(DependencyTag), ResponseWriter = WriteJsonAsync });
        return app;
    }

    /// <summary>
    /// <c>{"status":"Healthy","durationMs":1.3,"checks":[{"name":"database","status":"Healthy","durationMs":1.2}]}</c>;
    /// a check that is not healthy adds its description (what failed, or that it timed out).
    /// </summary>
    private static async Task WriteJsonAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteNumber("durationMs", Milliseconds(report.TotalDuration));
        json.WriteStartArray("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject();
            json.WriteString("name", name);
            json.WriteString("status", entry.Status.ToString());
            json.WriteNumber("durationMs", Milliseconds(entry.Duration));
            if (entry.Status != HealthStatus.Healthy && (entry.Description ?? entry.Exception?.Message) is { } description)
            {
                json.WriteString("description", description);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static double Milliseconds(TimeSpan duration) => Math.Round(duration.TotalMilliseconds, 1);
}
