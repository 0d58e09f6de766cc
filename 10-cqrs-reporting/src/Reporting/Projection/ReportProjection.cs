using Messaging;
using Microsoft.EntityFrameworkCore;
using Reporting.Data;

namespace Reporting.Projection;

/// <summary>An event read off the queue, for the projection.</summary>
public sealed record Delivered(EventEnvelope Envelope, IIntegrationEvent Event);

/// <summary>What became of an event handed to the projection.</summary>
public enum ApplyOutcome
{
    /// <summary>Applied now, and recorded as applied.</summary>
    Applied,

    /// <summary>Applied before (its id is recorded): delivered again, and skipped.</summary>
    Duplicate,
}

/// <summary>
/// Applies each event to the reports exactly once. The event's id is recorded in the same transaction
/// as the change it makes, so an event delivered twice (the relay published it again after a crash, or
/// the broker redelivered it because the consumer died before its ack) is skipped the second time. Each
/// event carries its aggregate's state and version, so one that arrives after a newer one of the same
/// user or account changes no state; the counts it adds (a movement) still count, once.
/// </summary>
public sealed class ReportProjection(ReportingDb db, TimeProvider clock)
{
    /// <summary>
    /// Applies events in one transaction, in their order: all of them or, when one fails, none. One
    /// commit for many events is what keeps the projection up with a busy write side, since a commit
    /// waits for the disk. An event that comes twice in the same batch is skipped the second time.
    /// </summary>
    public async Task<IReadOnlyList<ApplyOutcome>> ApplyAsync(IReadOnlyList<Delivered> events, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var outcomes = new ApplyOutcome[events.Count];
        var applied = new List<ProcessedEvent>(events.Count);
        var seen = new HashSet<Guid>(events.Count);
        var touched = new HashSet<UserReport>();
        for (var i = 0; i < events.Count; i++)
        {
            var (envelope, @event) = events[i];
            if (!seen.Add(envelope.Id) || await db.ProcessedEvents.AnyAsync(e => e.EventId == envelope.Id, cancellationToken))
            {
                outcomes[i] = ApplyOutcome.Duplicate;
                continue;
            }

            var processed = new ProcessedEvent
            {
                EventId = envelope.Id,
                Type = envelope.Type,
                AggregateId = envelope.AggregateId,
                Version = envelope.Version,
                OccurredAt = envelope.OccurredAt,
            };
            db.ProcessedEvents.Add(processed);
            applied.Add(processed);

            var report = @event switch
            {
                UserCreated e => await ApplyUserAsync(envelope, e.UserId, e.Name, e.Email, cancellationToken),
                UserChanged e => await ApplyUserAsync(envelope, e.UserId, e.Name, e.Email, cancellationToken),
                AccountOpened e => await ApplyAccountAsync(envelope, e.AccountId, e.UserId, e.Balance, movement: false, cancellationToken),
                BalanceChanged e => await ApplyAccountAsync(envelope, e.AccountId, e.UserId, e.Balance, movement: true, cancellationToken),
                _ => throw new ArgumentException($"The projection has no rule for {envelope.Type}.", nameof(events)),
            };

            if (report.LastEventAt is null || envelope.OccurredAt > report.LastEventAt)
            {
                report.LastEventAt = envelope.OccurredAt;
            }

            touched.Add(report);
            outcomes[i] = ApplyOutcome.Applied;
        }

        // Applied when the transaction commits: one time for the whole batch, taken just before.
        var now = clock.GetUtcNow();
        foreach (var processed in applied)
        {
            processed.AppliedAt = now;
        }

        foreach (var report in touched)
        {
            report.UpdatedAt = now;
        }

        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return outcomes;
    }

    private async Task<UserReport> ApplyUserAsync(EventEnvelope envelope, int userId, string name, string email, CancellationToken cancellationToken)
    {
        var report = await ReportOfAsync(userId, cancellationToken);
        if (envelope.Version > report.UserVersion)
        {
            report.Name = name;
            report.Email = email;
            report.UserVersion = envelope.Version;
        }

        return report;
    }

    private async Task<UserReport> ApplyAccountAsync(
        EventEnvelope envelope, int accountId, int userId, decimal balance, bool movement, CancellationToken cancellationToken)
    {
        var account = await db.AccountReports.FindAsync([accountId], cancellationToken);
        if (account is null)
        {
            account = new AccountReport { AccountId = accountId, UserId = userId };
            db.AccountReports.Add(account);
        }

        if (envelope.Version > account.Version)
        {
            account.BalanceCents = (long)(balance * 100);
            account.Version = envelope.Version;
        }

        var report = await ReportOfAsync(userId, cancellationToken);
        if (movement)
        {
            report.Movements++;
        }

        // The user's totals over their accounts, this one's change included.
        await db.SaveChangesAsync(cancellationToken);
        var accounts = db.AccountReports.Where(a => a.UserId == userId);
        report.AccountCount = await accounts.CountAsync(cancellationToken);
        report.TotalBalanceCents = await accounts.SumAsync(a => a.BalanceCents, cancellationToken);
        return report;
    }

    /// <summary>The user's report; a new one when this is the first event about them.</summary>
    private async Task<UserReport> ReportOfAsync(int userId, CancellationToken cancellationToken)
    {
        // Found among those this batch already changed, or read.
        var report = await db.UserReports.FindAsync([userId], cancellationToken);
        if (report is null)
        {
            report = new UserReport { UserId = userId };
            db.UserReports.Add(report);
        }

        return report;
    }
}
