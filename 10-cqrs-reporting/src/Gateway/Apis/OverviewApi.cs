using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text.Json.Serialization;
using System.Xml.Linq;
using Gateway.Downstream;
using ServiceDefaults.Telemetry;

namespace Gateway.Apis;

/// <summary>
/// How long the aggregation waits for each service. Bound from the "Overview" section:
/// <code>"Overview": { "Timeout": "00:00:05" }</code>
/// Longer than users' own wait for accounts (3 s), so users' answer about accounts arrives first.
/// </summary>
public sealed class OverviewOptions
{
    public const string SectionName = "Overview";

    [Range(typeof(TimeSpan), "00:00:00.1", "00:01:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>An aggregation at the edge: one call that asks both services, in parallel, and combines the answers.</summary>
public static class OverviewApi
{
    /// <summary>Set on an overview without its accounts list: why ("circuit-open", "timeout", "unreachable", "failed").</summary>
    public const string AccountsUnavailableHeader = "X-Accounts-Unavailable";

    public static IEndpointRouteBuilder MapOverviewApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/overview/{userId}", GetOverview)
            .RequireAuthorization()
            .WithTags("Overview")
            .WithName("GetUserOverview")
            .WithSummary("A user with their balance and their accounts, from both services in one call (JSON or XML)")
            .Produces<UserOverview>(StatusCodes.Status200OK, "application/json", "application/xml")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status406NotAcceptable)
            .ProducesProblem(StatusCodes.Status502BadGateway)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    public static async Task<IResult> GetOverview(
        int userId, UsersClient users, AccountsClient accounts, HttpContext context, ServiceActivitySource tracing, ILogger<Program> logger, CancellationToken ct)
    {
        using var span = tracing.Start("gateway.overview");
        span?.SetTag("user.id", userId);
        context.Response.Headers.Vary = "Accept";
        var format = ContentNegotiation.Choose(context.Request);
        if (format is null)
        {
            return ContentNegotiation.NotAcceptable(context.Request);
        }

        // Both calls start before either is awaited: the answer takes as long as the slower one.
        using var calls = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var user = users.GetUserAsync(userId, calls.Token);
        var userAccounts = accounts.GetAccountsOfUserAsync(userId, calls.Token);
        try
        {
            // The user's answer decides first: without the user (a 404, say) there is nothing to
            // combine, so the gateway answers at once and stops waiting for accounts.
            var found = await user;
            UserOverview overview;
            try
            {
                overview = UserOverview.From(found, await userAccounts);
            }
            catch (DownstreamException failed) when (failed.Status >= StatusCodes.Status500InternalServerError)
            {
                // The fallback: the user as users answered, without the accounts list, marked as such in
                // the body and in a header. While this gateway's circuit to accounts is open, at once.
                logger.LogWarning("Overview of user {UserId} without its accounts: {Reason}", userId, failed.Message);
                context.Response.Headers[AccountsUnavailableHeader] = failed.Reason;
                span?.SetTag("accounts.unavailable", failed.Reason);
                span?.AddEvent(new System.Diagnostics.ActivityEvent("fallback", tags: new System.Diagnostics.ActivityTagsCollection { ["reason"] = failed.Reason }));
                overview = UserOverview.WithoutAccounts(found, $"{failed.Message} The accounts of user {userId} are not listed; try again shortly.");
            }

            return format == ResponseFormat.Xml ? ContentNegotiation.Xml(overview.ToXml()) : TypedResults.Ok(overview);
        }
        catch (DownstreamException failed)
        {
            await calls.CancelAsync();
            if (failed.Status >= StatusCodes.Status500InternalServerError)
            {
                logger.LogWarning("Overview of user {UserId} failed: {Reason}", userId, failed.Message);
            }

            return TypedResults.Problem(statusCode: failed.Status, title: failed.Title, detail: failed.Message);
        }
    }
}

/// <summary>
/// A user and their accounts. Either part may be missing when accounts cannot answer: the user's
/// balance (users' fallback says why in balanceUnavailable), the accounts list (accountsUnavailable).
/// </summary>
public sealed record UserOverview(
    OverviewUser User,
    IReadOnlyList<OverviewAccount>? Accounts,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? AccountsUnavailable = null)
{
    public static UserOverview From(DownstreamUser user, IEnumerable<DownstreamAccount> accounts) => new(
        OverviewUser.From(user),
        accounts.Select(a => new OverviewAccount(a.Id, a.Balance)).ToList());

    public static UserOverview WithoutAccounts(DownstreamUser user, string why) => new(OverviewUser.From(user), null, why);

    /// <summary>The same content as the JSON, as XML: ids as attributes, values as elements.</summary>
    public XDocument ToXml() => new(
        new XDeclaration("1.0", "utf-8", null),
        new XElement("overview",
            new XElement("user",
                new XAttribute("id", User.Id),
                new XElement("name", User.Name),
                new XElement("email", User.Email),
                // A part that is missing is left out; the element that says why takes its place.
                User.Balance is { } balance ? new XElement("balance", balance.ToString(CultureInfo.InvariantCulture)) : null,
                User.AccountCount is { } count ? new XElement("accountCount", count) : null,
                User.BalanceUnavailable is { } noBalance ? new XElement("balanceUnavailable", noBalance) : null),
            Accounts is null
                ? new XElement("accountsUnavailable", AccountsUnavailable)
                : new XElement("accounts",
                    Accounts.Select(a => new XElement("account",
                        new XAttribute("id", a.Id),
                        new XElement("balance", a.Balance.ToString(CultureInfo.InvariantCulture)))))));
}

public sealed record OverviewUser(
    int Id,
    string Name,
    string Email,
    decimal? Balance,
    int? AccountCount,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? BalanceUnavailable = null)
{
    public static OverviewUser From(DownstreamUser user) => new(user.Id, user.Name, user.Email, user.Balance, user.AccountCount, user.BalanceUnavailable);
}

public sealed record OverviewAccount(int Id, decimal Balance);
