using Messaging.Outbox;
using Microsoft.EntityFrameworkCore;

namespace Accounts.Data;

public sealed class Account
{
    public int Id { get; set; }
    public int UserId { get; set; }

    /// <summary>Money is stored as a whole number of cents: exact, and SQLite can compare it.</summary>
    public long BalanceCents { get; set; }

    /// <summary>1 when opened, one more with each move of money: the version its events carry.</summary>
    public int Version { get; set; }

    /// <summary>The account as its events name it: "account-3".</summary>
    public static string AggregateId(int id) => $"account-{id}";
}

public sealed class AccountsDb(DbContextOptions<AccountsDb> options) : DbContext(options)
{
    public DbSet<Account> Accounts => Set<Account>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Account>().HasIndex(a => a.UserId);

        // The events waiting to be published, saved with the changes they describe.
        modelBuilder.AddOutbox();
    }
}
