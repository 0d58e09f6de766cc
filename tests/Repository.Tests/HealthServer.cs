using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Repository.Tests;

/// <summary>A one-answer HTTP server on loopback, for running a compose healthcheck command against.</summary>
public sealed class HealthServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private int _connections;

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>How many connections it has accepted.</summary>
    public int Connections => Volatile.Read(ref _connections);

    private HealthServer(int port) => _listener = new TcpListener(IPAddress.Loopback, port);

    /// <summary>Answers every request with the status line, on the port given or, by default, on a free one.</summary>
    public static Task<HealthServer> StartAsync(string statusLine, int port = 0)
    {
        var server = new HealthServer(port);
        server._listener.Start();
        server._loop = server.ServeAsync(statusLine);
        return Task.FromResult(server);
    }

    private async Task ServeAsync(string statusLine)
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                Interlocked.Increment(ref _connections);
                var stream = client.GetStream();
                var buffer = new byte[4096];
                var request = "";
                while (!request.Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var read = await stream.ReadAsync(buffer, _stop.Token);
                    if (read == 0)
                    {
                        break;
                    }

                    request += Encoding.ASCII.GetString(buffer, 0, read);
                }

                // What Kestrel needs: an HTTP/1.1 request line and a Host header. The path is a
                // service's health endpoint: /health, or /health/ready from step 06 on.
                var ok = (request.StartsWith("GET /health HTTP/1.1\r\n", StringComparison.Ordinal) || request.StartsWith("GET /health/ready HTTP/1.1\r\n", StringComparison.Ordinal))
                    && request.Contains("\r\nHost: ", StringComparison.OrdinalIgnoreCase);
                var response = ok ? $"{statusLine}\r\nContent-Length: 7\r\nConnection: close\r\n\r\nHealthy" : "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(response), _stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _loop;
        _stop.Dispose();
    }
}
