using System.Net;
using System.Text;
using System.Text.Json;
using Workshop.Testing.Consul;

namespace Workshop.Testing.Tests.Infrastructure;

/// <summary>
/// A plain HTTP client on a Consul stand-in, as the services will have: the tests look at the raw
/// answers (status, headers, body), not at a Consul library's reading of them.
/// </summary>
internal sealed class ConsulApi : IDisposable
{
    public const string PlainText = "text/plain; charset=utf-8";

    public ConsulApi(ConsulStandIn consul, TimeSpan? timeout = null)
    {
        Http = new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            BaseAddress = consul.BaseAddress,
            Timeout = timeout ?? TimeSpan.FromSeconds(30),
        };
    }

    public HttpClient Http { get; }

    public Task<HttpResponseMessage> GetAsync(string path) => Http.GetAsync(path);

    public Task<HttpResponseMessage> PutAsync(string path, string? body = null) =>
        Http.PutAsync(path, body is null ? null : new StringContent(body, Encoding.UTF8, "application/json"));

    /// <summary>Registers a service and asserts Consul's success answer.</summary>
    public async Task RegisterAsync(string json)
    {
        using var response = await PutAsync("/v1/agent/service/register", json);
        await AssertEmptyOkAsync(response);
    }

    /// <summary>Sends a PUT that must succeed (check pass/warn/fail/update, deregister).</summary>
    public async Task PutOkAsync(string path, string? body = null)
    {
        using var response = await PutAsync(path, body);
        await AssertEmptyOkAsync(response);
    }

    /// <summary>GETs JSON that must come with 200 and application/json.</summary>
    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await GetAsync(path);
        return await JsonBodyAsync(response);
    }

    public static async Task<JsonElement> JsonBodyAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Consul's answer to a successful write: 200, no body, no Content-Type.</summary>
    public static async Task AssertEmptyOkAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        Assert.Equal("", body);
        Assert.Null(response.Content.Headers.ContentType);
    }

    /// <summary>Consul's answer to a refused request: the status and a plain-text reason.</summary>
    public static async Task AssertTextAsync(HttpResponseMessage response, HttpStatusCode status, string reason)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(PlainText, response.Content.Headers.ContentType?.ToString());
        Assert.Equal(reason, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The value of a response header, which must be there once.</summary>
    public static string Header(HttpResponseMessage response, string name) =>
        Assert.Single(response.Headers.TryGetValues(name, out var values) ? values : []);

    public static ulong IndexOf(HttpResponseMessage response) => ulong.Parse(Header(response, "X-Consul-Index"));

    public void Dispose() => Http.Dispose();
}
