using System.Net;
using System.Text.Json;

namespace IntegrationTests;

/// <summary>Users' fallback, as a test reads it: 200, the user without a balance, and the header naming why.</summary>
internal static class Fallback
{
    public const string Header = "X-Balance-Unavailable";

    public static async Task<JsonElement> AssertAsync(HttpResponseMessage response, string reason)
    {
        var user = await Json.ReadAsync(response, HttpStatusCode.OK);
        Assert.Equal(reason, Assert.Single(response.Headers.GetValues(Header)));
        Assert.Equal(JsonValueKind.Null, user.GetProperty("balance").ValueKind);
        Assert.Equal(JsonValueKind.Null, user.GetProperty("accountCount").ValueKind);
        Assert.False(string.IsNullOrEmpty(user.GetProperty("balanceUnavailable").GetString()));
        return user;
    }
}

/// <summary>The fault switch of one accounts instance, and what it counted.</summary>
internal static class Faults
{
    public static async Task SetAsync(ServiceProcess accounts, double failureRate = 0, int latencyMs = 0)
    {
        using var response = await accounts.Client.PutAsync("/admin/faults", Json.Body(JsonSerializer.Serialize(new { failureRate, latencyMs })));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>The API requests this instance received since it started, faulty or not.</summary>
    public static async Task<long> RequestsAsync(ServiceProcess accounts)
    {
        using var response = await accounts.Client.GetAsync("/admin/faults");
        return (await Json.ReadAsync(response, HttpStatusCode.OK)).GetProperty("requests").GetInt64();
    }
}
