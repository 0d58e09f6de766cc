using Accounts.Apis;
using Accounts.Data;
using MediatR;
using Microsoft.EntityFrameworkCore;
using ServiceDefaults.Cqrs;
using ServiceDefaults.Telemetry;

namespace Accounts.Features.Accounts;

/// <summary>Every account, or those of one user.</summary>
public sealed record ListAccounts(int? UserId) : IRequest<AccountDto[]>, IValidatedRequest
{
    public Dictionary<string, string[]> Validate() =>
        UserId <= 0 ? new() { ["userId"] = ["'userId' must be a positive number."] } : [];
}

public sealed class ListAccountsHandler(AccountsDb db, ServiceActivitySource tracing) : IRequestHandler<ListAccounts, AccountDto[]>
{
    public async Task<AccountDto[]> Handle(ListAccounts request, CancellationToken cancellationToken)
    {
        using var span = tracing.Start("accounts.list");
        span?.SetTag("user.id", request.UserId);
        var query = db.Accounts.AsNoTracking();
        if (request.UserId is { } userId)
        {
            query = query.Where(a => a.UserId == userId);
        }

        var accounts = await query.OrderBy(a => a.Id).ToArrayAsync(cancellationToken);
        return [.. accounts.Select(AccountDto.From)];
    }
}
