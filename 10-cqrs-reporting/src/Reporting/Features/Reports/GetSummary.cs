using MediatR;
using Microsoft.EntityFrameworkCore;
using Reporting.Data;

namespace Reporting.Features.Reports;

/// <summary>The read model as a whole: how much it holds, how many events made it, and the newest one.</summary>
public sealed record GetSummary : IRequest<ReportSummary>;

public sealed record ReportSummary(int Users, int Accounts, decimal TotalBalance, int EventsApplied, DateTimeOffset? LastEventAt);

public sealed class GetSummaryHandler(ReportingDb db) : IRequestHandler<GetSummary, ReportSummary>
{
    public async Task<ReportSummary> Handle(GetSummary request, CancellationToken cancellationToken)
    {
        var users = await db.UserReports.CountAsync(cancellationToken);
        var accounts = await db.AccountReports.CountAsync(cancellationToken);
        var totalCents = await db.AccountReports.SumAsync(a => a.BalanceCents, cancellationToken);
        var events = await db.ProcessedEvents.CountAsync(cancellationToken);
        var last = await db.UserReports.MaxAsync(r => r.LastEventAt, cancellationToken);
        return new ReportSummary(users, accounts, totalCents * 0.01m, events, last);
    }
}
