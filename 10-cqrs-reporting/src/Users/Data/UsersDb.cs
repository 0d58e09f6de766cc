using Messaging.Outbox;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Users.Data;

public sealed class User
{
    public int Id { get; set; }
    public required string Name { get; set; }
    public required string Email { get; set; }

    /// <summary>1 when created, one more with each change: the version its events carry.</summary>
    public int Version { get; set; }

    /// <summary>The user as its events name it: "user-7".</summary>
    public static string AggregateId(int id) => $"user-{id}";
}

public sealed class UsersDb(DbContextOptions<UsersDb> options) : DbContext(options)
{
    public DbSet<User> Users => Set<User>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        var user = modelBuilder.Entity<User>();
        user.Property(u => u.Name).HasMaxLength(UserRules.MaxNameLength);
        // One user per email address, compared without regard to case.
        user.Property(u => u.Email).HasMaxLength(UserRules.MaxEmailLength).UseCollation("NOCASE");
        user.HasIndex(u => u.Email).IsUnique();
        user.Property(u => u.Version).IsConcurrencyToken();

        // The events waiting to be published, saved with the changes they describe.
        modelBuilder.AddOutbox();
    }

    /// <summary>Saves; false when a concurrent request took the same email address first.</summary>
    public async Task<bool> TrySaveChangesAsync(CancellationToken ct)
    {
        try
        {
            await SaveChangesAsync(ct);
            return true;
        }
        catch (DbUpdateException e) when (e.InnerException is SqliteException { SqliteErrorCode: 19 })
        {
            ChangeTracker.Clear();
            return false;
        }
    }
}
