using MediatR;
using Microsoft.EntityFrameworkCore;
using Reporting.Data;
using ServiceDefaults.Cqrs;

namespace Reporting.Features.Reports;

/// <summary>
/// Users ranked by their total balance over all their accounts, richest first, a page at a time. From
/// the write side this would take every user from users and every account from accounts; here it is
/// one indexed read.
/// </summary>
public sealed record RankUsers(int Page, int PageSize) : IRequest<UserRanking>, IValidatedRequest
{
    public const int MaxPageSize = 100;

    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        if (Page < 1)
        {
            errors["page"] = ["'page' must be 1 or more."];
        }

        if (PageSize is < 1 or > MaxPageSize)
        {
            errors["pageSize"] = [$"'pageSize' must be between 1 and {MaxPageSize}."];
        }

        return errors;
    }
}

public sealed record UserRanking(int Page, int PageSize, int Total, RankedUser[] Items);

public sealed record RankedUser(int Rank, int UserId, string? Name, decimal TotalBalance, int AccountCount);

public sealed class RankUsersHandler(ReportingDb db) : IRequestHandler<RankUsers, UserRanking>
{
    public async Task<UserRanking> Handle(RankUsers request, CancellationToken cancellationToken)
    {
        var skip = (request.Page - 1) * request.PageSize;
        var total = await db.UserReports.CountAsync(cancellationToken);
        var page = await db.UserReports.AsNoTracking()
            .OrderByDescending(r => r.TotalBalanceCents).ThenBy(r => r.UserId)
            .Skip(skip).Take(request.PageSize)
            .ToListAsync(cancellationToken);
        var items = page.Select((r, i) => new RankedUser(skip + i + 1, r.UserId, r.Name, r.TotalBalanceCents * 0.01m, r.AccountCount)).ToArray();
        return new UserRanking(request.Page, request.PageSize, total, items);
    }
}
