using System.Data.Common;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Storage;

/// <summary>
/// A demo switch that takes this instance's database away and gives it back, so that an instructor
/// can show live what an unready instance does: <c>PUT /admin/database {"available": false}</c>.
/// While it is off, every attempt to open a connection fails as a database that cannot be reached
/// would: the readiness check fails, and the API answers 503 naming the database. The data is not
/// touched. A real service has no such endpoint (or keeps it behind authentication); like the
/// services' own <c>/health</c> and <c>/openapi</c>, the gateway does not route it.
/// </summary>
public sealed partial class DatabaseSwitch(IHostEnvironment environment, ILogger<DatabaseSwitch> logger)
{
    private volatile bool _available = true;

    public bool Available => _available;

    /// <summary>The service's name, for messages: "users", "accounts".</summary>
    public string Service { get; } = environment.ApplicationName.ToLowerInvariant();

    public void Set(bool available)
    {
        if (_available == available)
        {
            return;
        }

        _available = available;
        if (available)
        {
            LogOn(logger, Service);
        }
        else
        {
            LogOff(logger, Service);
        }
    }

    [LoggerMessage(LogLevel.Warning, "The {Service} database is switched off (PUT /admin/database): every query fails until it is switched on")]
    private static partial void LogOff(ILogger logger, string service);

    [LoggerMessage(LogLevel.Information, "The {Service} database is switched on again")]
    private static partial void LogOn(ILogger logger, string service);
}

/// <summary>What a query meets while the database is switched off.</summary>
public sealed class DatabaseUnavailableException(string service)
    : DbException($"The {service} database is unavailable: it was switched off (PUT /admin/database).")
{
    public string Service { get; } = service;
}

/// <summary>Fails every connection EF Core opens while the switch is off.</summary>
internal sealed class DatabaseSwitchInterceptor(DatabaseSwitch databaseSwitch) : DbConnectionInterceptor
{
    public override InterceptionResult ConnectionOpening(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        ThrowIfOff();
        return result;
    }

    public override ValueTask<InterceptionResult> ConnectionOpeningAsync(
        DbConnection connection, ConnectionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
    {
        ThrowIfOff();
        return ValueTask.FromResult(result);
    }

    private void ThrowIfOff()
    {
        if (!databaseSwitch.Available)
        {
            throw new DatabaseUnavailableException(databaseSwitch.Service);
        }
    }
}

/// <summary>A request that met an unavailable database: 503, naming it, not a 500.</summary>
internal sealed class DatabaseUnavailableHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        // EF Core may wrap it (a DbUpdateException from SaveChanges).
        var unavailable = exception as DatabaseUnavailableException ?? exception.InnerException as DatabaseUnavailableException;
        if (unavailable is null)
        {
            return false;
        }

        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "Database unavailable",
                Detail = $"The {unavailable.Service} database is unavailable; this instance is not ready (GET /health/ready).",
            },
            Exception = exception,
        });
    }
}

/// <summary>The switch's state, as <c>GET</c> and <c>PUT /admin/database</c> carry it.</summary>
/// <param name="Available">False takes the database away; true gives it back.</param>
public sealed record DatabaseState(bool? Available);

public static class DatabaseSwitchEndpoints
{
    /// <summary><c>GET /admin/database</c> says whether the database is switched on; <c>PUT</c> switches it.</summary>
    public static IEndpointRouteBuilder MapDatabaseSwitch(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin/database").WithTags("Demo switches");
        admin.MapGet("", (DatabaseSwitch databaseSwitch) => TypedResults.Ok(new DatabaseState(databaseSwitch.Available)))
            .WithSummary("Whether this instance's database is switched on (a demo switch)");
        admin.MapPut("", Results<Ok<DatabaseState>, ValidationProblem> (DatabaseState state, DatabaseSwitch databaseSwitch) =>
            {
                if (state.Available is not { } available)
                {
                    return TypedResults.ValidationProblem(new Dictionary<string, string[]>
                    {
                        ["available"] = ["Say whether the database is available: {\"available\": false} switches it off, {\"available\": true} on."],
                    });
                }

                databaseSwitch.Set(available);
                return TypedResults.Ok(new DatabaseState(available));
            })
            .WithSummary("Switches this instance's database off or on (a demo switch: an unready instance, live)");
        return app;
    }
}
