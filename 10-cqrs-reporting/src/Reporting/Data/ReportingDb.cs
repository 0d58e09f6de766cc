using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Reporting.Data;

/// <summary>
/// One row per user: what users and accounts know of them, joined ahead of time, so that a report or a
/// ranking is one read of one table rather than a call to each service per user.
/// </summary>
public sealed class UserReport
{
    public int UserId { get; set; }

    /// <summary>Null while only the user's accounts are known (their UserCreated has not arrived yet).</summary>
    public string? Name { get; set; }

    public string? Email { get; set; }

    /// <summary>The version of the user's newest event applied: an older one that arrives late changes nothing.</summary>
    public int UserVersion { get; set; }

    public int AccountCount { get; set; }

    public long TotalBalanceCents { get; set; }

    /// <summary>Deposits and withdrawals applied: each counted once, however often its event was delivered.</summary>
    public int Movements { get; set; }

    /// <summary>When the newest event applied to this report happened, at its service.</summary>
    public DateTimeOffset? LastEventAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>An account as the report needs it: whose it is and its balance at its newest version.</summary>
public sealed class AccountReport
{
    public int AccountId { get; set; }

    public int UserId { get; set; }

    public long BalanceCents { get; set; }

    public int Version { get; set; }
}

/// <summary>
/// Every event applied, by id, written in the same transaction as the change it made to the reports:
/// an event delivered again finds its id here and is skipped.
/// </summary>
public sealed class ProcessedEvent
{
    public Guid EventId { get; set; }

    public required string Type { get; set; }

    public required string AggregateId { get; set; }

    public int Version { get; set; }

    public DateTimeOffset OccurredAt { get; set; }

    public DateTimeOffset AppliedAt { get; set; }
}

public sealed class ReportingDb(DbContextOptions<ReportingDb> options) : DbContext(options)
{
    public DbSet<UserReport> UserReports => Set<UserReport>();

    public DbSet<AccountReport> AccountReports => Set<AccountReport>();

    public DbSet<ProcessedEvent> ProcessedEvents => Set<ProcessedEvent>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // Times as numbers, which SQLite can compare and sort (its text form of a DateTimeOffset it cannot).
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetToBinaryConverter>();
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        var report = modelBuilder.Entity<UserReport>();
        report.HasKey(r => r.UserId);
        report.Property(r => r.UserId).ValueGeneratedNever();
        // The ranking reads the reports in this order.
        report.HasIndex(r => new { r.TotalBalanceCents, r.UserId });

        var account = modelBuilder.Entity<AccountReport>();
        account.HasKey(a => a.AccountId);
        account.Property(a => a.AccountId).ValueGeneratedNever();
        account.HasIndex(a => a.UserId);

        modelBuilder.Entity<ProcessedEvent>().HasKey(e => e.EventId);
    }
}
