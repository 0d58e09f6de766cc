using Accounts.Apis;
using Accounts.Data;
using MediatR;
using Messaging;
using Messaging.Outbox;
using ServiceDefaults.Cqrs;
using ServiceDefaults.Telemetry;

namespace Accounts.Features.Accounts;

public sealed record OpenAccount(int? UserId, decimal? InitialBalance) : IRequest<AccountDto>, IValidatedRequest
{
    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        if (UserId is null or <= 0)
        {
            errors["userId"] = ["'userId' must be a positive number."];
        }

        Money.TryToCents(InitialBalance ?? 0m, "initialBalance", allowZero: true, errors, out _);
        return errors;
    }
}

/// <summary>Opens the account and records AccountOpened in the same transaction.</summary>
public sealed class OpenAccountHandler(AccountsDb db, ServiceActivitySource tracing, ILogger<OpenAccountHandler> logger)
    : IRequestHandler<OpenAccount, AccountDto>
{
    public async Task<AccountDto> Handle(OpenAccount request, CancellationToken cancellationToken)
    {
        using var span = tracing.Start("accounts.open");
        span?.SetTag("user.id", request.UserId);
        var cents = (long)((request.InitialBalance ?? 0m) * 100);
        var account = new Account { UserId = request.UserId!.Value, BalanceCents = cents, Version = 1 };

        // The account's id comes from the insert, and the event names it: two saves, one transaction.
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        db.Accounts.Add(account);
        await db.SaveChangesAsync(cancellationToken);
        db.RecordEvent(Account.AggregateId(account.Id), account.Version,
            new AccountOpened(account.Id, account.UserId, Money.FromCents(account.BalanceCents)));
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);

        span?.SetTag("account.id", account.Id);
        logger.LogInformation("Opened account {AccountId} for user {UserId}", account.Id, account.UserId);
        return AccountDto.From(account);
    }
}
