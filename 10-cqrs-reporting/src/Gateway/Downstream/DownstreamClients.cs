using System.Net;
using System.Text.Json;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Gateway.Downstream;

/// <summary>The users service, as the aggregation sees it.</summary>
public sealed class UsersClient(HttpClient http)
{
    public Task<DownstreamUser> GetUserAsync(int id, CancellationToken ct) =>
        Downstream.GetAsync<DownstreamUser>(http, $"users/{id}", "users", ct);
}

/// <summary>The accounts service, as the aggregation sees it.</summary>
public sealed class AccountsClient(HttpClient http)
{
    public Task<DownstreamAccount[]> GetAccountsOfUserAsync(int userId, CancellationToken ct) =>
        Downstream.GetAsync<DownstreamAccount[]>(http, $"accounts?userId={userId}", "accounts", ct);
}

/// <summary>A user as users answers; without a balance (null) when users could not get one from accounts.</summary>
public sealed record DownstreamUser(int Id, string Name, string Email, decimal? Balance, int? AccountCount, string? BalanceUnavailable);

public sealed record DownstreamAccount(int Id, int UserId, decimal Balance);

/// <summary>A downstream call without a usable answer, already phrased as the problem the gateway returns.</summary>
public sealed class DownstreamException(int status, string title, string detail, string reason = "failed") : Exception(detail)
{
    public int Status { get; } = status;
    public string Title { get; } = title;

    /// <summary>"circuit-open", "timeout", "unreachable" or "failed", for a header.</summary>
    public string Reason { get; } = reason;
}

internal static class Downstream
{
    /// <summary>GET and read JSON; every failure becomes a <see cref="DownstreamException"/> naming the service.</summary>
    public static async Task<T> GetAsync<T>(HttpClient http, string path, string service, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.GetAsync(path, ct);
        }
        catch (HttpRequestException)
        {
            throw new DownstreamException(StatusCodes.Status503ServiceUnavailable, $"The {service} service is unavailable", $"The {service} service could not be reached.", "unreachable");
        }
        catch (BrokenCircuitException)
        {
            throw new DownstreamException(StatusCodes.Status503ServiceUnavailable, $"The {service} service is unavailable",
                $"The {service} service is not being called for a few seconds: it failed repeatedly (circuit open).", "circuit-open");
        }
        catch (TimeoutRejectedException e)
        {
            throw new DownstreamException(StatusCodes.Status503ServiceUnavailable, $"The {service} service is unavailable", $"The {service} service did not answer within {e.Timeout.TotalSeconds:0.#} s.", "timeout");
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new DownstreamException(StatusCodes.Status503ServiceUnavailable, $"The {service} service is unavailable", $"The {service} service did not answer within {http.Timeout.TotalSeconds:0.#} s.", "timeout");
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                // The service's own 404 says what was not found; pass its words on.
                var problem = await ReadProblemAsync(response, ct);
                throw new DownstreamException(StatusCodes.Status404NotFound, problem?.Title ?? "Not found", problem?.Detail ?? $"The {service} service found nothing at {path}.");
            }

            if (!response.IsSuccessStatusCode)
            {
                var problem = await ReadProblemAsync(response, ct);
                var status = response.StatusCode == HttpStatusCode.ServiceUnavailable ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status502BadGateway;
                throw new DownstreamException(status, $"The {service} service could not answer", problem?.Detail ?? $"The {service} service answered {(int)response.StatusCode}.");
            }

            try
            {
                return await response.Content.ReadFromJsonAsync<T>(ct)
                    ?? throw new JsonException("empty answer");
            }
            catch (Exception e) when (e is JsonException or NotSupportedException)
            {
                throw new DownstreamException(StatusCodes.Status502BadGateway, $"The {service} service could not answer", $"The {service} service sent an answer the gateway cannot read.");
            }
        }
    }

    private static async Task<ProblemDetailsBody?> ReadProblemAsync(HttpResponseMessage response, CancellationToken ct)
    {
        try
        {
            return await response.Content.ReadFromJsonAsync<ProblemDetailsBody>(ct);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            return null;
        }
    }

    private sealed record ProblemDetailsBody(string? Title, string? Detail);
}
