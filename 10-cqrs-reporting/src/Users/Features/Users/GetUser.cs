using System.Diagnostics;
using MediatR;
using Microsoft.EntityFrameworkCore;
using ServiceDefaults.Cqrs;
using ServiceDefaults.Telemetry;
using Users.Apis;
using Users.Clients;
using Users.Data;

namespace Users.Features.Users;

/// <summary>One user with their balance, asked of the accounts service.</summary>
public sealed record GetUser(int Id) : IRequest<UserWithBalance>;

/// <summary>
/// The user, and when accounts could not answer (the fallback) why not: "circuit-open", "timeout",
/// "unreachable", "failed".
/// </summary>
public sealed record UserWithBalance(UserWithBalanceDto User, string? BalanceUnavailable);

public sealed class GetUserHandler(UsersDb db, AccountsClient accounts, ServiceActivitySource tracing)
    : IRequestHandler<GetUser, UserWithBalance>
{
    public async Task<UserWithBalance> Handle(GetUser request, CancellationToken cancellationToken)
    {
        using var span = tracing.Start("users.get_with_balance");
        span?.SetTag("user.id", request.Id);
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == request.Id, cancellationToken)
            ?? throw UserProblems.NotFound(request.Id);

        try
        {
            var userAccounts = await accounts.GetAccountsOfUserAsync(request.Id, cancellationToken);
            return new UserWithBalance(UserWithBalanceDto.From(user, userAccounts), null);
        }
        catch (AccountsUnavailableException e)
        {
            // The fallback: what users knows by itself, with the balance marked unavailable. While the
            // circuit is open this answer comes at once, without a call.
            span?.SetTag("balance.unavailable", e.ReasonToken);
            span?.AddEvent(new ActivityEvent("fallback", tags: new ActivityTagsCollection { ["reason"] = e.ReasonToken }));
            return new UserWithBalance(
                UserWithBalanceDto.WithoutBalance(user, $"{e.Message} The balance of user {request.Id} is unknown; try again shortly."),
                e.ReasonToken);
        }
    }
}
