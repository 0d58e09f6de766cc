using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Workshop.Testing.Consul;

/// <summary>
/// One probe of an HTTP check, as Consul's agent runs it (<c>agent/checks/check.go</c>, <c>CheckHTTP</c>):
/// the check's method (GET by default), headers and body, <c>User-Agent: Consul Health Check</c>, no
/// keep-alive, redirects followed unless disabled, the whole request bounded by the check's timeout.
/// 2xx is passing, 429 warning, anything else or no answer critical.
/// </summary>
internal static class HttpCheck
{
    /// <summary>How much of the body goes into the output (Consul's <c>OutputMaxSize</c> default).</summary>
    public const int OutputMaxSize = 4096;

    public static async Task<(string Status, string Output)> ProbeAsync(HttpClient client, CheckDefinition check, TimeSpan timeout, CancellationToken stop)
    {
        var method = check.Method ?? "GET";
        var url = check.Http!;
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        request.Headers.ConnectionClose = true;
        if (check.Body is { Length: > 0 } body)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        }

        foreach (var (name, values) in check.Header)
        {
            if (!request.Headers.TryAddWithoutValidation(name, values))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, values);
            }
        }

        if (!check.Header.Keys.Any(name => name.Equals("User-Agent", StringComparison.OrdinalIgnoreCase)))
        {
            request.Headers.TryAddWithoutValidation("User-Agent", "Consul Health Check");
        }

        if (!check.Header.Keys.Any(name => name.Equals("Accept", StringComparison.OrdinalIgnoreCase)))
        {
            request.Headers.TryAddWithoutValidation("Accept", "text/plain, text/*, */*");
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stop);
        deadline.CancelAfter(timeout);
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            var output = await ReadStartAsync(response, deadline.Token);
            var code = (int)response.StatusCode;
            var status = code is >= 200 and <= 299 ? CheckStatus.Passing
                : code == 429 ? CheckStatus.Warning
                : CheckStatus.Critical;
            return (status, $"HTTP {method} {url}: {code} {response.ReasonPhrase} Output: {output}");
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            return (CheckStatus.Critical, $"{GoOperation(method)} \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)");
        }
        catch (HttpRequestException e)
        {
            return (CheckStatus.Critical, $"{GoOperation(method)} \"{url}\": {GoError(e, request.RequestUri!)}");
        }
    }

    private static async Task<string> ReadStartAsync(HttpResponseMessage response, CancellationToken cancellation)
    {
        await using var body = await response.Content.ReadAsStreamAsync(cancellation);
        var buffer = new byte[OutputMaxSize];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await body.ReadAsync(buffer.AsMemory(length), cancellation)) > 0)
        {
            length += read;
        }

        return Encoding.UTF8.GetString(buffer, 0, length);
    }

    /// <summary>Go names the failed request by its method in title case: <c>Get "http://…": …</c>.</summary>
    private static string GoOperation(string method) => method[..1].ToUpperInvariant() + method[1..].ToLowerInvariant();

    private static string GoError(HttpRequestException e, Uri uri) =>
        e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused }
            ? $"dial tcp {uri.Host}:{uri.Port}: connect: connection refused"
            : e.Message;

    /// <summary>The clients the probes use: one follows redirects, one does not. Never through a web proxy.</summary>
    public static (HttpClient Following, HttpClient NotFollowing) CreateClients()
    {
        HttpClient Create(bool followRedirects) => new(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = followRedirects,
            PooledConnectionLifetime = TimeSpan.Zero,
            AutomaticDecompression = DecompressionMethods.None,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };

        return (Create(true), Create(false));
    }
}
