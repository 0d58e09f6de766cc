using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Storage;

/// <summary>
/// Where a service keeps its SQLite file. Bound from the "Database" section:
/// <code>"Database": { "Path": "data/users.db" }</code>
/// A relative path is resolved against the content root (the project folder with `dotnet run`,
/// /app in the container). Override with the environment variable Database__Path.
/// </summary>
public sealed class DatabaseOptions
{
    public const string SectionName = "Database";

    public string Path { get; set; } = "";
}

public static class SqliteDatabase
{
    /// <summary>Registers <typeparamref name="TContext"/> on the SQLite file named by <see cref="DatabaseOptions"/>.</summary>
    public static IHostApplicationBuilder AddSqliteDatabase<TContext>(this IHostApplicationBuilder builder)
        where TContext : DbContext
    {
        builder.Services.AddOptions<DatabaseOptions>()
            .Bind(builder.Configuration.GetSection(DatabaseOptions.SectionName))
            .Validate(options => !string.IsNullOrWhiteSpace(options.Path), "Database:Path must name the SQLite file.")
            .ValidateOnStart();

        // A pool of contexts whose options are built once: a request rents a context and returns it,
        // rather than paying for a new one (and its options) every time.
        builder.Services.AddDbContextPool<TContext>((services, options) =>
        {
            var path = FullPath(services);
            options.UseSqlite(new SqliteConnectionStringBuilder { DataSource = path }.ToString());
        });
        return builder;
    }

    /// <summary>Creates the file and its tables on first start; later starts find the data where it was.</summary>
    public static WebApplication EnsureDatabaseCreated<TContext>(this WebApplication app)
        where TContext : DbContext
    {
        var path = FullPath(app.Services);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);

        using (var scope = app.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<TContext>();
            db.Database.EnsureCreated();
            // Write-ahead logging: readers never wait for a writer.
            db.Database.ExecuteSqlRaw("PRAGMA journal_mode=WAL;");
        }

        app.Logger.LogInformation("Database ready at {DatabasePath}", path);
        return app;
    }

    private static string FullPath(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
        var contentRoot = services.GetRequiredService<IHostEnvironment>().ContentRootPath;
        return System.IO.Path.GetFullPath(options.Path, contentRoot);
    }
}
