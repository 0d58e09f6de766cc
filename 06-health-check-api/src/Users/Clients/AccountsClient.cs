using System.ComponentModel.DataAnnotations;
using System.Net;

namespace Users.Clients;

/// <summary>
/// Which service accounts is and how long to wait for it. Bound from the "AccountsClient" section:
/// <code>"AccountsClient": { "BaseAddress": "http://accounts", "Timeout": "00:00:03" }</code>
/// The host is the service's name in Consul; service discovery picks an instance for every call.
/// </summary>
public sealed class AccountsClientOptions
{
    public const string SectionName = "AccountsClient";

    [Required]
    public Uri? BaseAddress { get; set; }

    /// <summary>The whole call, connecting included. Without a bound, a hung accounts service hangs users too.</summary>
    [Range(typeof(TimeSpan), "00:00:00.1", "00:01:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(3);
}

/// <summary>A typed HttpClient for the accounts service: users asks it for the accounts of a user.</summary>
public sealed class AccountsClient(HttpClient http, ILogger<AccountsClient> logger)
{
    public async Task<IReadOnlyList<AccountSummary>> GetAccountsOfUserAsync(int userId, CancellationToken ct)
    {
        try
        {
            return await http.GetFromJsonAsync<AccountSummary[]>($"accounts?userId={userId}", ct) ?? [];
        }
        catch (HttpRequestException e) when (e.StatusCode is not null)
        {
            logger.LogWarning("Accounts service answered {StatusCode} for user {UserId}", (int)e.StatusCode, userId);
            throw new AccountsUnavailableException(HttpStatusCode.BadGateway, $"The accounts service answered {(int)e.StatusCode} {e.StatusCode}.", e);
        }
        catch (HttpRequestException e)
        {
            logger.LogWarning("Accounts service unreachable at {BaseAddress}: {Reason}", http.BaseAddress, e.Message);
            throw new AccountsUnavailableException(HttpStatusCode.ServiceUnavailable, "The accounts service could not be reached.", e);
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            logger.LogWarning("Accounts service at {BaseAddress} did not answer within {Timeout}", http.BaseAddress, http.Timeout);
            throw new AccountsUnavailableException(HttpStatusCode.ServiceUnavailable, $"The accounts service did not answer within {http.Timeout.TotalSeconds:0.#} s.", e);
        }
        catch (System.Text.Json.JsonException e)
        {
            logger.LogWarning("Accounts service sent an answer users cannot read: {Reason}", e.Message);
            throw new AccountsUnavailableException(HttpStatusCode.BadGateway, "The accounts service sent an answer that is not a list of accounts.", e);
        }
    }
}

/// <summary>An account as users sees it: only what it needs for the balance.</summary>
public sealed record AccountSummary(int Id, int UserId, decimal Balance);

/// <summary>The accounts service gave no usable answer: 503 when it is down or slow, 502 when it answered wrongly.</summary>
public sealed class AccountsUnavailableException(HttpStatusCode status, string message, Exception inner) : Exception(message, inner)
{
    public int StatusCode { get; } = (int)status;
}
