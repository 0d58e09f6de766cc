using System.Diagnostics;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using ServiceDefaults.Telemetry;
using Users.Clients;
using Users.Data;

namespace Users.Apis;

public static class UsersApi
{
    public static RouteGroupBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        // For the OpenAPI document: typed results (Ok, Created, ValidationProblem) describe themselves;
        // a Problem(...) result can carry any status, so each endpoint names the ones it answers.
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
            .ProducesProblem(StatusCodes.Status409Conflict);
        api.MapPut("/{id}", UpdateUser).WithName("UpdateUser").WithSummary("Rename a user or change their email")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        return api;
    }

    public static async Task<Ok<UserDto[]>> ListUsers(UsersDb db, CancellationToken ct)
    {
        var users = await db.Users.AsNoTracking().OrderBy(u => u.Id).Select(u => UserDto.From(u)).ToArrayAsync(ct);
        return TypedResults.Ok(users);
    }

    public static async Task<Results<Ok<UserWithBalanceDto>, ProblemHttpResult>> GetUser(
        int id, UsersDb db, AccountsClient accounts, HttpResponse response, ServiceActivitySource tracing, CancellationToken ct)
    {
        using var span = tracing.Start("users.get_with_balance");
        span?.SetTag("user.id", id);
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == id, ct);
        if (user is null)
        {
            return UserNotFound(id);
        }

        try
        {
            var userAccounts = await accounts.GetAccountsOfUserAsync(id, ct);
            return TypedResults.Ok(UserWithBalanceDto.From(user, userAccounts));
        }
        catch (AccountsUnavailableException e)
        {
            // The fallback: what users knows by itself, with the balance marked unavailable in the body
            // and in a header. While the circuit is open this answer comes at once, without a call.
            response.Headers[BalanceUnavailableHeader] = e.ReasonToken;
            span?.SetTag("balance.unavailable", e.ReasonToken);
            span?.AddEvent(new ActivityEvent("fallback", tags: new ActivityTagsCollection { ["reason"] = e.ReasonToken }));
            return TypedResults.Ok(UserWithBalanceDto.WithoutBalance(user, $"{e.Message} The balance of user {id} is unknown; try again shortly."));
        }
    }

    /// <summary>Set on a user answered without a balance: why ("circuit-open", "timeout", "unreachable", "failed").</summary>
    public const string BalanceUnavailableHeader = "X-Balance-Unavailable";

    public static async Task<Results<Created<AccountSummary>, ProblemHttpResult, ContentHttpResult>> OpenAccount(
        int id, OpenAccountRequest request, UsersDb db, AccountsClient accounts, ServiceActivitySource tracing, ILogger<Program> logger, CancellationToken ct)
    {
        using var span = tracing.Start("users.open_account");
        span?.SetTag("user.id", id);
        if (!await db.Users.AnyAsync(u => u.Id == id, ct))
        {
            return UserNotFound(id);
        }

        try
        {
            var account = await accounts.OpenAccountAsync(id, request.InitialBalance ?? 0m, ct);
            span?.SetTag("account.id", account.Id);
            logger.LogInformation("Opened account {AccountId} for user {UserId}", account.Id, id);
            return TypedResults.Created($"/users/{id}", account);
        }
        catch (AccountsRejectedException e)
        {
            // Accounts' own 400 names the field (initialBalance): the caller's input, passed on as it came.
            return TypedResults.Content(e.ProblemJson, "application/problem+json", statusCode: StatusCodes.Status400BadRequest);
        }
        catch (AccountsUnavailableException e)
        {
            // No fallback for a write, and no retry: after a timeout the account may exist, so say so.
            var outcome = e.Reason == BalanceUnavailableReason.Timeout
                ? $"The account may or may not have been opened: check GET /users/{id} before trying again."
                : "The account was not opened; try again shortly.";
            return TypedResults.Problem(statusCode: e.StatusCode, title: "Accounts service unavailable", detail: $"{e.Message} {outcome}");
        }
    }

    public static async Task<Results<Created<UserDto>, ValidationProblem, ProblemHttpResult>> CreateUser(
        CreateUserRequest request, UsersDb db, ServiceActivitySource tracing, ILogger<Program> logger, CancellationToken ct)
    {
        using var span = tracing.Start("users.create");
        var errors = UserRules.Validate(request.Name, request.Email);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var email = request.Email!.Trim();
        if (await db.Users.AnyAsync(u => u.Email == email, ct))
        {
            return EmailTaken(email);
        }

        var user = new User { Name = request.Name!.Trim(), Email = email };
        db.Users.Add(user);
        if (!await db.TrySaveChangesAsync(ct))
        {
            return EmailTaken(email);
        }

        span?.SetTag("user.id", user.Id);
        UsersMetrics.Created.Inc();
        logger.LogInformation("Created user {UserId}", user.Id);
        return TypedResults.Created($"/users/{user.Id}", UserDto.From(user));
    }

    public static async Task<Results<Ok<UserDto>, ValidationProblem, ProblemHttpResult>> UpdateUser(
        int id, UpdateUserRequest request, UsersDb db, ServiceActivitySource tracing, ILogger<Program> logger, CancellationToken ct)
    {
        using var span = tracing.Start("users.update");
        span?.SetTag("user.id", id);
        var errors = UserRules.Validate(request.Name, request.Email);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var user = await db.Users.FirstOrDefaultAsync(u => u.Id == id, ct);
        if (user is null)
        {
            return UserNotFound(id);
        }

        var email = request.Email!.Trim();
        if (await db.Users.AnyAsync(u => u.Email == email && u.Id != id, ct))
        {
            return EmailTaken(email);
        }

        user.Name = request.Name!.Trim();
        user.Email = email;
        if (!await db.TrySaveChangesAsync(ct))
        {
            return EmailTaken(email);
        }

        logger.LogInformation("Updated user {UserId}", user.Id);
        return TypedResults.Ok(UserDto.From(user));
    }

    private static ProblemHttpResult UserNotFound(int id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "User not found", detail: $"There is no user with id {id}.");

    private static ProblemHttpResult EmailTaken(string email) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Email already in use", detail: $"Another user already has the email address {email}.");
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
