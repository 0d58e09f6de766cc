using Microsoft.EntityFrameworkCore;

namespace Accounts.Data;

public sealed class Account
{
    public int Id { get; set; }
    public int UserId { get; set; }

    /// <summary>Money is stored as a whole number of cents: exact, and SQLite can compare it.</summary>
    public long BalanceCents { get; set; }
}

public sealed class AccountsDb(DbContextOptions<AccountsDb> options) : DbContext(options)
{
    public DbSet<Account> Accounts => Set<Account>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Account>().HasIndex(a => a.UserId);
    }
}
