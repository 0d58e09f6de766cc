using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Workshop.Testing;

/// <summary>A service's OpenAPI document, held against the answers the service really gives.</summary>
public sealed class OpenApiContract(JsonElement document)
{
    public static async Task<OpenApiContract> ReadAsync(HttpClient service)
    {
        using var response = await service.GetAsync("/openapi/v1.json");
        return new OpenApiContract(await Json.ReadAsync(response, HttpStatusCode.OK));
    }

    /// <summary>
    /// Asserts that the operation <paramref name="method"/> <paramref name="path"/> (a path as the document
    /// writes it, such as "/users/{id}") lists the status of <paramref name="answer"/>, with its content type.
    /// </summary>
    public void AssertLists(string method, string path, HttpResponseMessage answer)
    {
        Assert.True(document.GetProperty("paths").TryGetProperty(path, out var operations), $"the document has no path {path}");
        Assert.True(operations.TryGetProperty(method.ToLowerInvariant(), out var operation), $"the document has no operation {method} {path}");

        var status = ((int)answer.StatusCode).ToString(CultureInfo.InvariantCulture);
        var responses = operation.GetProperty("responses");
        var listed = string.Join(", ", responses.EnumerateObject().Select(r => r.Name));
        Assert.True(responses.TryGetProperty(status, out var described), $"{method} {path} answered {status}, which its document does not list (it lists {listed})");

        var contentType = answer.Content.Headers.ContentType?.MediaType;
        if (contentType is not null)
        {
            var types = described.TryGetProperty("content", out var content) ? content.EnumerateObject().Select(c => c.Name).ToArray() : [];
            Assert.True(types.Contains(contentType), $"{method} {path} answered {status} as {contentType}, which its document does not list for {status} (it lists {string.Join(", ", types)})");
        }
    }

    /// <summary>
    /// Sends each call, asserts it got the status it was meant to get (so that every status is really
    /// exercised), and that the document lists the answer (<see cref="AssertLists"/>).
    /// </summary>
    public async Task AssertListsTheAnswersAsync(
        HttpClient service, IEnumerable<(string Method, string Path, string Operation, string? Body, HttpStatusCode Status)> calls)
    {
        foreach (var (method, path, operation, body, status) in calls)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = body is null ? null : Json.Body(body) };
            using var answer = await service.SendAsync(request);

            Assert.True(status == answer.StatusCode, $"{method} {path}: expected {(int)status}, got {(int)answer.StatusCode}");
            AssertLists(method, operation, answer);
        }
    }
}
