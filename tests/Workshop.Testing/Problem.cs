using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Workshop.Testing;

/// <summary>Assertions on RFC 9457 problem details answers.</summary>
public static class Problem
{
    /// <summary>Asserts the status and the problem content type, and returns the parsed body.</summary>
    public static async Task<JsonElement> AssertAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal((int)status, json.GetProperty("status").GetInt32());
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        return json;
    }

    /// <summary>Asserts the status and that the problem's "detail" says exactly <paramref name="detail"/>.</summary>
    public static async Task AssertDetailAsync(HttpResponseMessage response, HttpStatusCode status, string detail)
    {
        var json = await AssertAsync(response, status);
        Assert.Equal(detail, json.GetProperty("detail").GetString());
    }

    /// <summary>Asserts a 400 whose "errors" names <paramref name="field"/>.</summary>
    public static async Task AssertFieldAsync(HttpResponseMessage response, string field)
    {
        var json = await AssertAsync(response, HttpStatusCode.BadRequest);
        var errors = json.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out var messages), $"errors should name '{field}': {errors}");
        Assert.Contains(messages.EnumerateArray(), m => !string.IsNullOrWhiteSpace(m.GetString()));
    }
}

public static class Json
{
    public static StringContent Body(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    public static async Task<JsonElement> ReadAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, object body) =>
        client.PostAsJsonAsync(path, body);
}
