using System.Net;
using System.Net.Sockets;

namespace Workshop.Steps;

public static class Ports
{
    /// <summary>True when nothing listens on the port on this machine's loopback address.</summary>
    public static bool IsFree(int port)
    {
        try
        {
            var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public static string HowToFindHolder(int port) => OperatingSystem.IsWindows()
        ? $"netstat -ano | findstr :{port}"
        : $"lsof -i :{port}";

    /// <summary>
    /// A port to suggest in place of a taken one: 1000 up from it, or the first thousand after that,
    /// that is free now (down from it near the top of the range).
    /// </summary>
    public static int Suggest(int taken)
    {
        var candidates = Enumerable.Range(1, 9).Select(k => taken + 1000 * k)
            .Concat(Enumerable.Range(1, 9).Select(k => taken - 1000 * k))
            .Where(p => p is >= 1024 and <= 65535)
            .ToList();
        return candidates.FirstOrDefault(IsFree, candidates[0]);
    }

    /// <summary>
    /// What to do about a taken port: a healthy /health there is most likely a step still running;
    /// anything else is to be stopped or, where <paramref name="move"/> says how, moved away from.
    /// </summary>
    public static async Task<string> HowToFreeAsync(int port, string? move = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        try
        {
            using var response = await http.GetAsync($"http://localhost:{port}/health");
            if (response.IsSuccessStatusCode)
            {
                return "a service answers /health there, so a workshop step is probably still running: press Ctrl-C in its terminal, or run `docker compose down` in its folder";
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
        }

        return $"stop what holds it (find it with `{HowToFindHolder(port)}`){(move is null ? "" : ", or " + move)}";
    }
}
