using System.Diagnostics;
using Accounts.Apis;
using Accounts.Data;
using MediatR;
using Messaging;
using Messaging.Outbox;
using Microsoft.EntityFrameworkCore;
using ServiceDefaults.Cqrs;
using ServiceDefaults.Telemetry;

namespace Accounts.Features.Accounts;

public sealed record Deposit(int Id, decimal? Amount) : IRequest<AccountDto>, IValidatedRequest
{
    public Dictionary<string, string[]> Validate() => MoveMoney.Check(Amount);
}

public sealed record Withdraw(int Id, decimal? Amount) : IRequest<AccountDto>, IValidatedRequest
{
    public Dictionary<string, string[]> Validate() => MoveMoney.Check(Amount);
}

public sealed class DepositHandler(AccountsDb db, ServiceActivitySource tracing, ILogger<DepositHandler> logger)
    : IRequestHandler<Deposit, AccountDto>
{
    public async Task<AccountDto> Handle(Deposit request, CancellationToken cancellationToken)
    {
        using var span = MoveMoney.Span(tracing, "accounts.deposit", request.Id, "deposit");
        var cents = MoveMoney.Cents(request.Amount);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);

        // One UPDATE statement: concurrent deposits never lose each other's money.
        var changed = await db.Accounts
            .Where(a => a.Id == request.Id && a.BalanceCents <= Money.MaxBalanceCents - cents)
            .ExecuteUpdateAsync(set => set
                .SetProperty(a => a.BalanceCents, a => a.BalanceCents + cents)
                .SetProperty(a => a.Version, a => a.Version + 1), cancellationToken);

        var account = await db.Accounts.AsNoTracking().FirstOrDefaultAsync(a => a.Id == request.Id, cancellationToken)
            ?? throw AccountProblems.NotFound(request.Id);
        if (changed == 0)
        {
            throw RequestProblemException.Conflict(
                "Balance limit reached",
                $"Account {request.Id} holds {Money.FromCents(account.BalanceCents)}; its balance may not exceed {Money.FromCents(Money.MaxBalanceCents)}.");
        }

        await MoveMoney.RecordAsync(db, account, cents, cancellationToken);
        await transaction.CommitAsync(cancellationToken);

        AccountsMetrics.Deposits.Inc();
        logger.LogInformation("Deposited {Amount} into account {AccountId}", request.Amount, request.Id);
        return AccountDto.From(account);
    }
}

public sealed class WithdrawHandler(AccountsDb db, ServiceActivitySource tracing, ILogger<WithdrawHandler> logger)
    : IRequestHandler<Withdraw, AccountDto>
{
    public async Task<AccountDto> Handle(Withdraw request, CancellationToken cancellationToken)
    {
        using var span = MoveMoney.Span(tracing, "accounts.withdraw", request.Id, "withdrawal");
        var cents = MoveMoney.Cents(request.Amount);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);

        // The balance check and the subtraction are one statement, so two withdrawals at the
        // same moment cannot both pass the check and overdraw the account.
        var changed = await db.Accounts
            .Where(a => a.Id == request.Id && a.BalanceCents >= cents)
            .ExecuteUpdateAsync(set => set
                .SetProperty(a => a.BalanceCents, a => a.BalanceCents - cents)
                .SetProperty(a => a.Version, a => a.Version + 1), cancellationToken);

        var account = await db.Accounts.AsNoTracking().FirstOrDefaultAsync(a => a.Id == request.Id, cancellationToken)
            ?? throw AccountProblems.NotFound(request.Id);
        if (changed == 0)
        {
            AccountsMetrics.OverdraftsRejected.Inc();
            throw RequestProblemException.Conflict(
                "Insufficient funds",
                $"Account {request.Id} holds {Money.FromCents(account.BalanceCents)}, less than the {request.Amount:0.00} requested.");
        }

        await MoveMoney.RecordAsync(db, account, -cents, cancellationToken);
        await transaction.CommitAsync(cancellationToken);

        AccountsMetrics.Withdrawals.Inc();
        logger.LogInformation("Withdrew {Amount} from account {AccountId}", request.Amount, request.Id);
        return AccountDto.From(account);
    }
}

/// <summary>What a deposit and a withdrawal share.</summary>
internal static class MoveMoney
{
    public static Dictionary<string, string[]> Check(decimal? amount)
    {
        var errors = new Dictionary<string, string[]>();
        Money.TryToCents(amount, "amount", allowZero: false, errors, out _);
        return errors;
    }

    /// <summary>The amount in cents; the request has passed <see cref="Check"/>.</summary>
    public static long Cents(decimal? amount) => (long)(amount!.Value * 100);

    /// <summary>Records BalanceChanged (the version and balance after the move) within the move's transaction.</summary>
    public static async Task RecordAsync(AccountsDb db, Account account, long movedCents, CancellationToken cancellationToken)
    {
        db.RecordEvent(Account.AggregateId(account.Id), account.Version,
            new BalanceChanged(account.Id, account.UserId, Money.FromCents(movedCents), Money.FromCents(account.BalanceCents)));
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>A span for moving money: the account and the kind of movement, never the amount.</summary>
    public static Activity? Span(ServiceActivitySource tracing, string operation, int accountId, string kind)
    {
        var span = tracing.Start(operation);
        span?.SetTag("account.id", accountId);
        span?.SetTag("amount.kind", kind);
        return span;
    }
}
