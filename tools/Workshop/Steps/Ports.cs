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
    /// How to run <paramref name="service"/> of <paramref name="steps"/> on another port: where to set
    /// the variable of its mapping, <paramref name="host"/>, so that it counts (the environment comes
    /// before a step's .env, as in docker compose). Null for a fixed mapping.
    /// </summary>
    public static string? HowToMove(string service, HostPort host, IReadOnlyList<Step> steps)
    {
        if (host.Variable is not { } variable)
        {
            return null;
        }

        var setting = $"{variable}={Suggest(host.Port)}";
        return $"run {service} on another port: " + (host.Source == StepVariables.TheEnvironment
            ? $"set {setting} in the environment"
            : steps.Count == 1
                ? $"put {setting} in {steps[0].Folder}/.env (docker compose reads that file too), or set it in the environment for every step"
                : $"set {setting} in the environment, or put it in the .env of {StepCatalog.Numbers(steps)}");
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
