using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Workshop.Testing;

/// <summary>
/// A stand-in for a service in the failure and forwarding tests: one that accepts connections and
/// never answers (hung), or one that answers every request with a fixed raw HTTP response, optionally
/// only once <c>beforeAnswering</c> completes. It keeps the requests it received.
/// </summary>
public sealed class StandInServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _clients = [];
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _requests = new();
    private readonly TaskCompletionSource _firstRequest = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Func<Task>? _beforeAnswering;
    private Task _loop = Task.CompletedTask;

    public Uri BaseAddress => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

    /// <summary>Each request as received: request line and headers.</summary>
    public IReadOnlyCollection<string> Requests => _requests;

    /// <summary>Completes when the first request has been read.</summary>
    public Task FirstRequest => _firstRequest.Task;

    /// <summary>Accepts and reads, never writes: the caller's timeout is all that ends the call.</summary>
    public static StandInServer Hanging() => Start(response: null);

    public static StandInServer Answering(string statusLine, string contentType, string body, Func<Task>? beforeAnswering = null) =>
        Start($"HTTP/1.1 {statusLine}\r\nContent-Type: {contentType}\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}", beforeAnswering);

    private static StandInServer Start(string? response, Func<Task>? beforeAnswering = null)
    {
        var server = new StandInServer { _beforeAnswering = beforeAnswering };
        server._listener.Start();
        server._loop = server.ServeAsync(response);
        return server;
    }

    private async Task ServeAsync(string? response)
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                lock (_clients)
                {
                    _clients.Add(client);
                }

                _ = AnswerAsync(client, response);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task AnswerAsync(TcpClient client, string? response)
    {
        try
        {
            var stream = client.GetStream();
            var buffer = new byte[8192];
            var request = new StringBuilder();
            while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                request.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }

            _requests.Enqueue(request.ToString());
            _firstRequest.TrySetResult();
            if (response is null)
            {
                await Task.Delay(Timeout.Infinite, _stop.Token);
            }

            if (_beforeAnswering is not null)
            {
                await _beforeAnswering();
            }

            await stream.WriteAsync(Encoding.UTF8.GetBytes(response!), _stop.Token);
            client.Close();
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or TimeoutException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _loop;
        lock (_clients)
        {
            _clients.ForEach(c => c.Dispose());
        }

        _stop.Dispose();
    }
}
