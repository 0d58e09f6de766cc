using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Text.Json;
using Polly.CircuitBreaker;
using Polly.Timeout;
using ServiceDefaults.Resilience;

namespace Users.Clients;

/// <summary>
/// Which service accounts is. Bound from the "AccountsClient" section:
/// <code>"AccountsClient": { "BaseAddress": "http://accounts" }</code>
/// The host is the service's name in Consul; service discovery picks an instance for every call.
/// How long users waits, and how it retries and breaks, is under "Resilience:Accounts".
/// </summary>
public sealed class AccountsClientOptions
{
    public const string SectionName = "AccountsClient";

    [Required]
    public Uri? BaseAddress { get; set; }
}

/// <summary>
/// A typed HttpClient for the accounts service. Its calls run through the "Accounts" resilience
/// pipeline (<see cref="CallResilience"/>); what is left when that gives up becomes an
/// <see cref="AccountsUnavailableException"/> that says why.
/// </summary>
public sealed class AccountsClient(HttpClient http, ILogger<AccountsClient> logger)
{
    public const string Service = "Accounts";

    public async Task<IReadOnlyList<AccountSummary>> GetAccountsOfUserAsync(int userId, CancellationToken ct)
    {
        try
        {
            return await http.GetFromJsonAsync<AccountSummary[]>($"accounts?userId={userId}", ct) ?? [];
        }
        catch (Exception e) when (Unavailable(e, ct) is { } unavailable)
        {
            throw unavailable;
        }
    }

    /// <summary>
    /// Opens an account for the user: a POST, so never retried. Accounts' own 400 (a bad initial
    /// balance) comes back as <see cref="AccountsRejectedException"/>, for the caller to pass on.
    /// </summary>
    public async Task<AccountSummary> OpenAccountAsync(int userId, decimal initialBalance, CancellationToken ct)
    {
        try
        {
            using var response = await http.PostAsJsonAsync("accounts", new { userId, initialBalance }, ct);
            if (response.StatusCode == HttpStatusCode.BadRequest)
            {
                throw new AccountsRejectedException(await response.Content.ReadAsStringAsync(ct));
            }

            response.EnsureSuccessStatusCode();
            return await response.Content.ReadFromJsonAsync<AccountSummary>(ct) ?? throw new JsonException("empty answer");
        }
        catch (Exception e) when (Unavailable(e, ct) is { } unavailable)
        {
            throw unavailable;
        }
    }

    /// <summary>Why the call gave no usable answer, as one exception with a reason; null for what is not a failure of accounts.</summary>
    private AccountsUnavailableException? Unavailable(Exception e, CancellationToken ct)
    {
        switch (e)
        {
            case BrokenCircuitException:
                // No call went out, and no log line per call: the circuit's own line said it opened.
                return new(BalanceUnavailableReason.CircuitOpen, HttpStatusCode.ServiceUnavailable,
                    "The accounts service is not being called for a few seconds: it failed repeatedly (circuit open).", e);
            case TimeoutRejectedException { Timeout: var timeout }:
                // The whole call's timeout, or the last attempt's when no retry was left (or allowed, for a POST).
                logger.LogWarning("Accounts service did not answer within {Timeout}", timeout);
                return new(BalanceUnavailableReason.Timeout, HttpStatusCode.ServiceUnavailable,
                    $"The accounts service did not answer within {timeout.TotalSeconds:0.#} s.", e);
            case HttpRequestException { StatusCode: { } status }:
                logger.LogWarning("Accounts service answered {StatusCode}", (int)status);
                return new(BalanceUnavailableReason.Failed, HttpStatusCode.BadGateway,
                    $"The accounts service answered {(int)status} {status}.", e);
            case HttpRequestException:
                logger.LogWarning("Accounts service unreachable at {BaseAddress}: {Reason}", http.BaseAddress, e.Message);
                return new(BalanceUnavailableReason.Unreachable, HttpStatusCode.ServiceUnavailable,
                    "The accounts service could not be reached.", e);
            case JsonException or NotSupportedException:
                logger.LogWarning("Accounts service sent an answer users cannot read: {Reason}", e.Message);
                return new(BalanceUnavailableReason.Failed, HttpStatusCode.BadGateway,
                    "The accounts service sent an answer users cannot read.", e);
            case TaskCanceledException when !ct.IsCancellationRequested:
                // HttpClient's own timeout (100 s): a backstop only, well above the pipeline's.
                return new(BalanceUnavailableReason.Timeout, HttpStatusCode.ServiceUnavailable, "The accounts service did not answer.", e);
            default:
                return null;
        }
    }
}

/// <summary>An account as users sees it: only what it needs for the balance.</summary>
public sealed record AccountSummary(int Id, int UserId, decimal Balance);

/// <summary>Why accounts gave no answer, as the <c>X-Balance-Unavailable</c> header names it.</summary>
public enum BalanceUnavailableReason
{
    CircuitOpen,
    Timeout,
    Unreachable,
    Failed,
}

/// <summary>The accounts service gave no usable answer: down, slow, failing, or not called while its circuit is open.</summary>
public sealed class AccountsUnavailableException(BalanceUnavailableReason reason, HttpStatusCode status, string message, Exception inner)
    : Exception(message, inner)
{
    public BalanceUnavailableReason Reason { get; } = reason;

    /// <summary>The status for a caller when there is no fallback (a write): 503, or 502 for a wrong answer.</summary>
    public int StatusCode { get; } = (int)status;

    /// <summary>"circuit-open", "timeout", "unreachable", "failed".</summary>
    public string ReasonToken => Reason switch
    {
        BalanceUnavailableReason.CircuitOpen => "circuit-open",
        BalanceUnavailableReason.Timeout => "timeout",
        BalanceUnavailableReason.Unreachable => "unreachable",
        _ => "failed",
    };
}

/// <summary>Accounts refused the request as invalid (400); its ProblemDetails body is passed on as it came.</summary>
public sealed class AccountsRejectedException(string problemJson) : Exception("The accounts service refused the request.")
{
    public string ProblemJson { get; } = problemJson;
}
