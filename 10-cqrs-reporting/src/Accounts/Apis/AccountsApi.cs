using Accounts.Data;
using Accounts.Features.Accounts;
using MediatR;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Accounts.Apis;

public static class AccountsApi
{
    public static RouteGroupBuilder MapAccountsApi(this IEndpointRouteBuilder app)
    {
        // For the OpenAPI document: the typed result of success describes itself; the refusals come
        // from the handlers (Features/Accounts/), so each endpoint names the statuses it answers.
        // No {id:int} constraint: an id that is not a whole number, or too large for one, is then a 400
        // naming 'id' (the handler's int parameter does not bind), not routing's 404.
        var api = app.MapGroup("/accounts").WithTags("Accounts");
        AccountsMetrics.Publish();

        api.MapGet("/", ListAccounts).WithName("ListAccounts").WithSummary("List accounts, optionally of one user (?userId=)")
            .ProducesValidationProblem();
        api.MapGet("/{id}", GetAccount).WithName("GetAccount").WithSummary("Get one account")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPost("/", OpenAccount).WithName("OpenAccount").WithSummary("Open an account for a user")
            .ProducesValidationProblem();
        api.MapPost("/{id}/deposit", Deposit).WithName("Deposit").WithSummary("Put money into an account")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        api.MapPost("/{id}/withdraw", Withdraw).WithName("Withdraw").WithSummary("Take money out of an account (no overdraft)")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        return api;
    }

    // The endpoints only send: each builds its request from the route and the body, and MediatR hands
    // it to its one handler (Features/Accounts/). A handler that refuses throws what becomes the 4xx.
    public static async Task<Ok<AccountDto[]>> ListAccounts(int? userId, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(await mediator.Send(new ListAccounts(userId), ct));

    public static async Task<Ok<AccountDto>> GetAccount(int id, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(await mediator.Send(new GetAccount(id), ct));

    public static async Task<Created<AccountDto>> OpenAccount(OpenAccountRequest request, IMediator mediator, CancellationToken ct)
    {
        var account = await mediator.Send(new OpenAccount(request.UserId, request.InitialBalance), ct);
        return TypedResults.Created($"/accounts/{account.Id}", account);
    }

    public static async Task<Ok<AccountDto>> Deposit(int id, AmountRequest request, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(await mediator.Send(new Deposit(id, request.Amount), ct));

    public static async Task<Ok<AccountDto>> Withdraw(int id, AmountRequest request, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(await mediator.Send(new Withdraw(id, request.Amount), ct));
}

public sealed record OpenAccountRequest(int? UserId, decimal? InitialBalance);

public sealed record AmountRequest(decimal? Amount);

public sealed record AccountDto(int Id, int UserId, decimal Balance)
{
    public static AccountDto From(Account account) => new(account.Id, account.UserId, Money.FromCents(account.BalanceCents));
}
