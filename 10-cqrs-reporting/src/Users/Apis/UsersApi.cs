using System.Text.Json.Serialization;
using MediatR;
using Microsoft.AspNetCore.Http.HttpResults;
using Users.Clients;
using Users.Data;
using Users.Features.Users;

namespace Users.Apis;

public static class UsersApi
{
    public static RouteGroupBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        // For the OpenAPI document: the typed result of success describes itself; the refusals come
        // from the handlers (Features/Users/), so each endpoint names the statuses it answers.
        // No {id:int} constraint: an id that is not a whole number, or too large for one, is then a 400
        // naming 'id' (the handler's int parameter does not bind), not routing's 404.
        var api = app.MapGroup("/users").WithTags("Users");
        UsersMetrics.Publish();

        api.MapGet("/", ListUsers).WithName("ListUsers").WithSummary("List all users");
        api.MapGet("/{id}", GetUser).WithName("GetUser")
            .WithSummary("Get one user with their balance, asked of the accounts service (without it, marked unavailable, when accounts cannot answer)")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPost("/{id}/accounts", OpenAccount).WithName("OpenAccountForUser")
            .WithSummary("Open an account for an existing user, at the accounts service (a POST: never retried)")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status502BadGateway)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapPost("/", CreateUser).WithName("CreateUser").WithSummary("Create a user")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);
        api.MapPut("/{id}", UpdateUser).WithName("UpdateUser").WithSummary("Rename a user or change their email")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        return api;
    }

    // The endpoints only send: each builds its request from the route and the body, and MediatR hands
    // it to its one handler (Features/Users/). A handler that refuses throws what becomes the 4xx.
    public static async Task<Ok<UserDto[]>> ListUsers(IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(await mediator.Send(new ListUsers(), ct));

    public static async Task<Ok<UserWithBalanceDto>> GetUser(int id, IMediator mediator, HttpResponse response, CancellationToken ct)
    {
        var answer = await mediator.Send(new GetUser(id), ct);
        if (answer.BalanceUnavailable is { } reason)
        {
            // The fallback says why in a header too.
            response.Headers[BalanceUnavailableHeader] = reason;
        }

        return TypedResults.Ok(answer.User);
    }

    /// <summary>Set on a user answered without a balance: why ("circuit-open", "timeout", "unreachable", "failed").</summary>
    public const string BalanceUnavailableHeader = "X-Balance-Unavailable";

    public static async Task<Created<AccountSummary>> OpenAccount(int id, OpenAccountRequest request, IMediator mediator, CancellationToken ct) =>
        TypedResults.Created($"/users/{id}", await mediator.Send(new OpenAccount(id, request.InitialBalance), ct));

    public static async Task<Created<UserDto>> CreateUser(CreateUserRequest request, IMediator mediator, CancellationToken ct)
    {
        var user = await mediator.Send(new CreateUser(request.Name, request.Email), ct);
        return TypedResults.Created($"/users/{user.Id}", user);
    }

    public static async Task<Ok<UserDto>> UpdateUser(int id, UpdateUserRequest request, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(await mediator.Send(new UpdateUser(id, request.Name, request.Email), ct));
}

public sealed record CreateUserRequest(string? Name, string? Email);

public sealed record UpdateUserRequest(string? Name, string? Email);

public sealed record UserDto(int Id, string Name, string Email)
{
    public static UserDto From(User user) => new(user.Id, user.Name, user.Email);
}

/// <summary>An account to open for a user: the initial balance (0 when left out).</summary>
public sealed record OpenAccountRequest(decimal? InitialBalance);

/// <summary>
/// A user joined with what the accounts service knows of them. Without an answer from accounts (the
/// fallback), balance and accountCount are null and balanceUnavailable says why.
/// </summary>
public sealed record UserWithBalanceDto(
    int Id,
    string Name,
    string Email,
    decimal? Balance,
    int? AccountCount,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? BalanceUnavailable = null)
{
    // "+ 0.00m": a user without accounts has a balance of 0.00, shown with its two places like any other.
    public static UserWithBalanceDto From(User user, IReadOnlyList<AccountSummary> accounts) =>
        new(user.Id, user.Name, user.Email, accounts.Sum(a => a.Balance) + 0.00m, accounts.Count);

    public static UserWithBalanceDto WithoutBalance(User user, string why) =>
        new(user.Id, user.Name, user.Email, null, null, why);
}
