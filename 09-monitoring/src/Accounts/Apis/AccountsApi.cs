using Accounts.Data;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using ServiceDefaults.Telemetry;

namespace Accounts.Apis;

public static class AccountsApi
{
    public static RouteGroupBuilder MapAccountsApi(this IEndpointRouteBuilder app)
    {
        // For the OpenAPI document: typed results (Ok, Created, ValidationProblem) describe themselves;
        // a Problem(...) result can carry any status, so each endpoint names the ones it answers.
        // No {id:int} constraint: an id that is not a whole number, or too large for one, is then a 400
        // naming 'id' (the handler's int parameter does not bind), not routing's 404.
        var api = app.MapGroup("/accounts").WithTags("Accounts");
        AccountsMetrics.Publish();

        api.MapGet("/", ListAccounts).WithName("ListAccounts").WithSummary("List accounts, optionally of one user (?userId=)");
        api.MapGet("/{id}", GetAccount).WithName("GetAccount").WithSummary("Get one account")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPost("/", OpenAccount).WithName("OpenAccount").WithSummary("Open an account for a user");
        api.MapPost("/{id}/deposit", Deposit).WithName("Deposit").WithSummary("Put money into an account")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        api.MapPost("/{id}/withdraw", Withdraw).WithName("Withdraw").WithSummary("Take money out of an account (no overdraft)")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        return api;
    }

    public static async Task<Results<Ok<AccountDto[]>, ValidationProblem>> ListAccounts(int? userId, AccountsDb db, ServiceActivitySource tracing, CancellationToken ct)
    {
        using var span = tracing.Start("accounts.list");
        span?.SetTag("user.id", userId);
        if (userId <= 0)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["userId"] = ["'userId' must be a positive number."] });
        }

        var query = db.Accounts.AsNoTracking();
        if (userId is not null)
        {
            query = query.Where(a => a.UserId == userId);
        }

        var accounts = await query.OrderBy(a => a.Id).ToArrayAsync(ct);
        return TypedResults.Ok(accounts.Select(AccountDto.From).ToArray());
    }

    public static async Task<Results<Ok<AccountDto>, ProblemHttpResult>> GetAccount(int id, AccountsDb db, CancellationToken ct)
    {
        var account = await db.Accounts.AsNoTracking().FirstOrDefaultAsync(a => a.Id == id, ct);
        return account is null ? AccountNotFound(id) : TypedResults.Ok(AccountDto.From(account));
    }

    public static async Task<Results<Created<AccountDto>, ValidationProblem>> OpenAccount(
        OpenAccountRequest request, AccountsDb db, ServiceActivitySource tracing, ILogger<Program> logger, CancellationToken ct)
    {
        using var span = tracing.Start("accounts.open");
        span?.SetTag("user.id", request.UserId);
        var errors = new Dictionary<string, string[]>();
        if (request.UserId is null or <= 0)
        {
            errors["userId"] = ["'userId' must be a positive number."];
        }

        Money.TryToCents(request.InitialBalance ?? 0m, "initialBalance", allowZero: true, errors, out var cents);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var account = new Account { UserId = request.UserId!.Value, BalanceCents = cents };
        db.Accounts.Add(account);
        await db.SaveChangesAsync(ct);

        span?.SetTag("account.id", account.Id);
        logger.LogInformation("Opened account {AccountId} for user {UserId}", account.Id, account.UserId);
        return TypedResults.Created($"/accounts/{account.Id}", AccountDto.From(account));
    }

    public static async Task<Results<Ok<AccountDto>, ValidationProblem, ProblemHttpResult>> Deposit(
        int id, AmountRequest request, AccountsDb db, ServiceActivitySource tracing, ILogger<Program> logger, CancellationToken ct)
    {
        using var span = MoneySpan(tracing, "accounts.deposit", id, "deposit");
        var errors = new Dictionary<string, string[]>();
        if (!Money.TryToCents(request.Amount, "amount", allowZero: false, errors, out var cents))
        {
            return TypedResults.ValidationProblem(errors);
        }

        // One UPDATE statement: concurrent deposits never lose each other's money.
        var changed = await db.Accounts
            .Where(a => a.Id == id && a.BalanceCents <= Money.MaxBalanceCents - cents)
            .ExecuteUpdateAsync(set => set.SetProperty(a => a.BalanceCents, a => a.BalanceCents + cents), ct);

        var account = await db.Accounts.AsNoTracking().FirstOrDefaultAsync(a => a.Id == id, ct);
        if (account is null)
        {
            return AccountNotFound(id);
        }

        if (changed == 0)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "Balance limit reached",
                detail: $"Account {id} holds {Money.FromCents(account.BalanceCents)}; its balance may not exceed {Money.FromCents(Money.MaxBalanceCents)}.");
        }

        AccountsMetrics.Deposits.Inc();
        logger.LogInformation("Deposited {Amount} into account {AccountId}", request.Amount, id);
        return TypedResults.Ok(AccountDto.From(account));
    }

    public static async Task<Results<Ok<AccountDto>, ValidationProblem, ProblemHttpResult>> Withdraw(
        int id, AmountRequest request, AccountsDb db, ServiceActivitySource tracing, ILogger<Program> logger, CancellationToken ct)
    {
        using var span = MoneySpan(tracing, "accounts.withdraw", id, "withdrawal");
        var errors = new Dictionary<string, string[]>();
        if (!Money.TryToCents(request.Amount, "amount", allowZero: false, errors, out var cents))
        {
            return TypedResults.ValidationProblem(errors);
        }

        // The balance check and the subtraction are one statement, so two withdrawals at the
        // same moment cannot both pass the check and overdraw the account.
        var changed = await db.Accounts
            .Where(a => a.Id == id && a.BalanceCents >= cents)
            .ExecuteUpdateAsync(set => set.SetProperty(a => a.BalanceCents, a => a.BalanceCents - cents), ct);

        var account = await db.Accounts.AsNoTracking().FirstOrDefaultAsync(a => a.Id == id, ct);
        if (account is null)
        {
            return AccountNotFound(id);
        }

        if (changed == 0)
        {
            AccountsMetrics.OverdraftsRejected.Inc();
            return TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "Insufficient funds",
                detail: $"Account {id} holds {Money.FromCents(account.BalanceCents)}, less than the {request.Amount:0.00} requested.");
        }

        AccountsMetrics.Withdrawals.Inc();
        logger.LogInformation("Withdrew {Amount} from account {AccountId}", request.Amount, id);
        return TypedResults.Ok(AccountDto.From(account));
    }

    /// <summary>A span for moving money: the account and the kind of movement, never the amount.</summary>
    private static System.Diagnostics.Activity? MoneySpan(ServiceActivitySource tracing, string operation, int accountId, string kind)
    {
        var span = tracing.Start(operation);
        span?.SetTag("account.id", accountId);
        span?.SetTag("amount.kind", kind);
        return span;
    }

    private static ProblemHttpResult AccountNotFound(int id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Account not found", detail: $"There is no account with id {id}.");
}

public sealed record OpenAccountRequest(int? UserId, decimal? InitialBalance);

public sealed record AmountRequest(decimal? Amount);

public sealed record AccountDto(int Id, int UserId, decimal Balance)
{
    public static AccountDto From(Account account) => new(account.Id, account.UserId, Money.FromCents(account.BalanceCents));
}
