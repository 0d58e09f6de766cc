using MediatR;
using Microsoft.EntityFrameworkCore;
using ServiceDefaults.Cqrs;
using ServiceDefaults.Telemetry;
using Users.Clients;
using Users.Data;

namespace Users.Features.Users;

/// <summary>Opens an account for an existing user, at the accounts service (which publishes AccountOpened).</summary>
public sealed record OpenAccount(int UserId, decimal? InitialBalance) : IRequest<AccountSummary>;

public sealed class OpenAccountHandler(UsersDb db, AccountsClient accounts, ServiceActivitySource tracing, ILogger<OpenAccountHandler> logger)
    : IRequestHandler<OpenAccount, AccountSummary>
{
    public async Task<AccountSummary> Handle(OpenAccount request, CancellationToken cancellationToken)
    {
        using var span = tracing.Start("users.open_account");
        span?.SetTag("user.id", request.UserId);
        if (!await db.Users.AnyAsync(u => u.Id == request.UserId, cancellationToken))
        {
            throw UserProblems.NotFound(request.UserId);
        }

        try
        {
            var account = await accounts.OpenAccountAsync(request.UserId, request.InitialBalance ?? 0m, cancellationToken);
            span?.SetTag("account.id", account.Id);
            logger.LogInformation("Opened account {AccountId} for user {UserId}", account.Id, request.UserId);
            return account;
        }
        catch (AccountsRejectedException e)
        {
            // Accounts' own 400 names the field (initialBalance): the caller's input, passed on as it came.
            throw new ForwardedProblemException(StatusCodes.Status400BadRequest, e.ProblemJson);
        }
        catch (AccountsUnavailableException e)
        {
            // No fallback for a write, and no retry: after a timeout the account may exist, so say so.
            var outcome = e.Reason == BalanceUnavailableReason.Timeout
                ? $"The account may or may not have been opened: check GET /users/{request.UserId} before trying again."
                : "The account was not opened; try again shortly.";
            throw new RequestProblemException(e.StatusCode, "Accounts service unavailable", $"{e.Message} {outcome}");
        }
    }
}
