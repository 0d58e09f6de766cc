using System.Data.Common;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Storage;

/// <summary>
/// Where a service keeps its SQLite file. Bound from the "Database" section:
/// <code>"Database": { "Path": "data/users.db", "ReadyTimeout": "00:00:02" }</code>
/// A relative path is resolved against the content root (the project folder with `dotnet run`,
/// /app in the container). Override with the environment variable Database__Path.
/// </summary>
public sealed class DatabaseOptions
{
    public const string SectionName = "Database";

    public string Path { get; set; } = "";

    /// <summary>How long the readiness check waits for the database before it calls the instance unready.</summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:00.100", "00:00:30",
        ErrorMessage = "Database:ReadyTimeout must be between 00:00:00.100 and 00:00:30, such as 00:00:02.")]
    public TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromSeconds(2);
}

public static class SqliteDatabase
{
    /// <summary>The tag of the checks <c>/health/ready</c> runs (ServiceDefaults' HealthEndpoints.ReadyTag).</summary>
    public const string ReadyTag = "ready";

    /// <summary>Registers <typeparamref name="TContext"/> on the SQLite file named by <see cref="DatabaseOptions"/>.</summary>
    public static IHostApplicationBuilder AddSqliteDatabase<TContext>(this IHostApplicationBuilder builder)
        where TContext : DbContext
    {
        builder.Services.AddOptions<DatabaseOptions>()
            .Bind(builder.Configuration.GetSection(DatabaseOptions.SectionName))
            .Validate(options => !string.IsNullOrWhiteSpace(options.Path), "Database:Path must name the SQLite file.")
            .ValidateDataAnnotations()
            // A folder ("Database__Path=/some/where") would otherwise end in SQLite's "disk I/O error".
            .Validate<IHostEnvironment>(
                (options, environment) => string.IsNullOrWhiteSpace(options.Path) || !Directory.Exists(FullPath(options, environment)),
                "Database:Path names a folder; it must name the SQLite file itself (a path that ends in a file name, such as data.db).")
            .ValidateOnStart();

        // A pool of contexts whose options are built once: a request rents a context and returns it,
        // rather than paying for a new one (and its options) every time.
        builder.Services.AddDbContextPool<TContext>((services, options) =>
        {
            var path = FullPath(services);
            options.UseSqlite(new SqliteConnectionStringBuilder { DataSource = path }.ToString());
            options.AddInterceptors(BusyTimeout.Instance);
            options.AddInterceptors(services.GetRequiredService<DatabaseSwitchInterceptor>());
        });

        // Ready only while the database answers: EF Core's check opens a connection, within ReadyTimeout.
        // Its own test (CanConnectAsync) says only false; opening the connection here lets the reason
        // through, into the description /health/ready shows.
        builder.Services.AddHealthChecks().AddDbContextCheck<TContext>("database", tags: [ReadyTag],
            customTestQuery: async (db, cancellationToken) =>
            {
                await db.Database.OpenConnectionAsync(cancellationToken);
                await db.Database.CloseConnectionAsync();
                return true;
            });
        builder.Services.AddOptions<HealthCheckServiceOptions>().Configure<IOptions<DatabaseOptions>>((health, database) =>
        {
            foreach (var check in health.Registrations.Where(r => r.Name == "database"))
            {
                check.Timeout = database.Value.ReadyTimeout;
            }
        });

        // The demo switch that takes the database away (DatabaseSwitch.cs), and the 503 a request then gets.
        builder.Services.AddSingleton<DatabaseSwitch>();
        builder.Services.AddSingleton<DatabaseSwitchInterceptor>();
        builder.Services.AddExceptionHandler<DatabaseUnavailableHandler>();
        return builder;
    }

    /// <summary>Creates the file and its tables on first start; later starts find the data where it was.</summary>
    public static WebApplication EnsureDatabaseCreated<TContext>(this WebApplication app)
        where TContext : DbContext
    {
        var path = FullPath(app.Services);
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            using var scope = app.Services.CreateScope();
            var db = scope.ServiceProvider.GetRequiredService<TContext>();
            db.Database.EnsureCreated();
            // Write-ahead logging: readers never wait for a writer.
            db.Database.ExecuteSqlRaw("PRAGMA journal_mode=WAL;");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SqliteException)
        {
            // SQLite's own words ("unable to open database file") do not say which file; the inner exception says why.
            throw new InvalidOperationException($"The SQLite file {path} (Database:Path) could not be opened or created.", e);
        }

        app.Logger.LogInformation("Database ready at {DatabasePath}", path);
        return app;
    }

    private static string FullPath(IServiceProvider services) =>
        FullPath(services.GetRequiredService<IOptions<DatabaseOptions>>().Value, services.GetRequiredService<IHostEnvironment>());

    private static string FullPath(DatabaseOptions options, IHostEnvironment environment) =>
        System.IO.Path.GetFullPath(options.Path, environment.ContentRootPath);
}

/// <summary>
/// Makes SQLite itself wait, a few milliseconds at a time, for a write lock another connection holds.
/// Without it, a statement that finds the file busy is retried by Microsoft.Data.Sqlite after a sleep
/// of 150 ms: two writes that meet cost the second one at least that.
/// </summary>
internal sealed class BusyTimeout : DbConnectionInterceptor
{
    public static readonly BusyTimeout Instance = new();

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Set(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Set(connection);
        return Task.CompletedTask;
    }

    private static void Set(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA busy_timeout = 5000;";
        command.ExecuteNonQuery();
    }
}
