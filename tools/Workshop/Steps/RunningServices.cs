using System.Diagnostics;
using System.Text.Json;

namespace Workshop.Steps;

/// <summary>
/// The services of a step that `workshop up` runs, its infrastructure included when it runs from a
/// local program. Each one can be stopped, started, paused and resumed while the others run on, so
/// that an instructor can break one on purpose and show what the rest do. When a service ends by
/// itself, the others keep running too.
/// </summary>
/// <param name="services">In start order: what the others depend on first.</param>
/// <param name="elsewhere">Infrastructure the step uses but workshop did not start, with why (already running, not installed).</param>
public sealed class RunningServices(IReadOnlyList<LocalCommand> services, IReadOnlyDictionary<string, string> elsewhere) : IAsyncDisposable
{
    private static readonly TimeSpan HealthTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long one of the step's services answers 503 before it counts as started but not ready. Not
    /// at once: reporting, whose readiness is its connection to RabbitMQ, answers 503 for its first
    /// moments even where the broker runs.
    /// </summary>
    private static readonly TimeSpan NotReadyAfter = TimeSpan.FromSeconds(5);

    /// <summary>Asks the ready addresses, every 250 ms while a service starts: one client, not one per question.</summary>
    private static readonly HttpClient Probe = new();

    private readonly object _gate = new();
    private readonly Dictionary<string, LocalProcess?> _processes = services.ToDictionary(s => s.Name, _ => (LocalProcess?)null);
    private readonly int _width = services.Select(s => s.Name).Concat(elsewhere.Keys).Select(name => name.Length).DefaultIfEmpty(0).Max();
    private bool _disposing;

    /// <summary>Starts the service and waits until it is ready: its health endpoint answers, or its port takes connections.</summary>
    public async Task StartAsync(LocalCommand app, CancellationToken ct)
    {
        await EnsurePortFreeAsync(app.Name, app.Port);

        Ui.Info(app.IsInfrastructure ? $"Starting {app.Name} ({app.Program}) on {app.Url} ..." : $"Starting {app.Name} on {app.Url} ...");
        var process = LocalProcess.Start(app, _width, colour: services.ToList().IndexOf(app));
        LocalProcess? ended;
        lock (_gate)
        {
            ended = _processes[app.Name];
            _processes[app.Name] = process;
        }

        if (ended is not null)
        {
            await ended.DisposeAsync();
        }

        _ = ReportUnexpectedExitAsync(app, process);
        try
        {
            await WaitHealthyAsync(app, process, ct);
        }
        catch
        {
            // The caller reports why; this process is not one that "stopped" after running.
            Forget(app, process);
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>Refuses, saying what to do, when something else already listens on the service's port.</summary>
    /// <param name="move">How to run the service on another port instead, where it can be.</param>
    public static async Task EnsurePortFreeAsync(string name, int port, string? move = null)
    {
        if (!Ports.IsFree(port))
        {
            throw new UserError($"port {port} ({name}) is already in use: {await Ports.HowToFreeAsync(port, move)}");
        }
    }

    /// <summary>One line typed at the terminal while the step runs.</summary>
    public async Task ExecuteAsync(string line, CancellationToken ct)
    {
        var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        switch (words)
        {
            case []:
                return;
            case ["help"]:
                PrintHelp();
                return;
            case ["status"]:
                PrintStatus();
                return;
            case [var verb, var name] when verb is "stop" or "start" or "restart" or "pause" or "resume":
                var app = services.FirstOrDefault(a => a.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
                if (elsewhere.Keys.FirstOrDefault(n => n.Equals(name, StringComparison.OrdinalIgnoreCase)) is { } other)
                {
                    Ui.Fail($"{other} was not started by workshop up, so it cannot {verb} it here ({elsewhere[other]})");
                    return;
                }

                if (app is null)
                {
                    Ui.Fail($"this step has no service '{name}'; it has {string.Join(", ", services.Select(a => a.Name).Concat(elsewhere.Keys))}");
                    return;
                }

                try
                {
                    await ExecuteAsync(verb, app, ct);
                }
                catch (UserError e)
                {
                    Ui.Fail(e.Message);
                }

                return;
            default:
                Ui.Fail($"unknown command '{line.Trim()}'; type `help` for the commands");
                return;
        }
    }

    private async Task ExecuteAsync(string verb, LocalCommand app, CancellationToken ct)
    {
        var process = ProcessOf(app);
        var running = process is { HasExited: false };
        switch (verb)
        {
            case "stop" when !running:
                Ui.Warn($"{app.Name} is not running");
                break;
            case "stop":
                await StopAsync(app, process!);
                Ui.Ok($"{app.Name} stopped; the other services keep running. `start {app.Name}` starts it again.");
                break;
            case "start" when running:
                Ui.Warn($"{app.Name} is already running (pid {process!.Id})");
                break;
            case "start":
                await StartAsync(app, ct);
                break;
            case "restart":
                if (running)
                {
                    await StopAsync(app, process!);
                    Ui.Ok($"{app.Name} stopped");
                }

                await StartAsync(app, ct);
                break;
            case "pause" or "resume" when OperatingSystem.IsWindows():
                Ui.Fail($"{verb} needs Linux or macOS (a stopped process is a Unix signal); use `stop {app.Name}` instead");
                break;
            case "pause" or "resume" when !running:
                Ui.Warn($"{app.Name} is not running");
                break;
            case "pause" when process!.IsPaused:
                Ui.Warn($"{app.Name} is already paused");
                break;
            case "pause":
                process!.Pause();
                Ui.Ok($"{app.Name} is paused: it holds its port and answers nothing, as a hung service does. `resume {app.Name}` lets it go on.");
                break;
            case "resume" when !process!.IsPaused:
                Ui.Warn($"{app.Name} is not paused");
                break;
            case "resume":
                process!.Resume();
                Ui.Ok($"{app.Name} runs again");
                break;
        }
    }

    private async Task StopAsync(LocalCommand app, LocalProcess process)
    {
        Forget(app, process);
        await process.DisposeAsync();
    }

    /// <summary>What the commands are, printed once the step runs and on `help`.</summary>
    public void PrintHelp()
    {
        Ui.Line("While it runs, type a command and Enter:");
        if ((services.FirstOrDefault(s => !s.IsInfrastructure) ?? services.FirstOrDefault())?.Name is { } example)
        {
            Ui.Line($"  stop {example}      start {example}      restart {example}");
            Ui.Line($"  pause {example}     (hangs it: alive, holding its port, answering nothing)      resume {example}");
        }

        Ui.Line("  status      help      (Ctrl-C stops every service)");
    }

    private void PrintStatus()
    {
        foreach (var app in services)
        {
            var process = ProcessOf(app);
            var (state, pid) = process switch
            {
                null or { HasExited: true } => ("stopped", ""),
                { IsPaused: true } => ("paused", $"pid {process.Id}"),
                _ => ("running", $"pid {process.Id}"),
            };
            Ui.Line($"  {app.Name.PadRight(_width)}  {state,-8}  {pid,-10}  {app.Url}");
        }

        foreach (var (name, why) in elsewhere)
        {
            Ui.Line($"  {name.PadRight(_width)}  {why}");
        }
    }

    private async Task ReportUnexpectedExitAsync(LocalCommand app, LocalProcess process)
    {
        await process.Exited;
        // Ctrl-C in a terminal reaches the services too, and one may exit a moment before workshop's
        // own handler has run: give it that moment before calling the exit unexpected.
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        lock (_gate)
        {
            if (_disposing || _processes[app.Name] != process)
            {
                return;
            }
        }

        Ui.Warn($"{app.Name} stopped by itself ({process.Ending}; its log is above); the other services keep running. `start {app.Name}` starts it again.");
    }

    private LocalProcess? ProcessOf(LocalCommand app)
    {
        lock (_gate)
        {
            return _processes[app.Name];
        }
    }

    private void Forget(LocalCommand app, LocalProcess process)
    {
        lock (_gate)
        {
            if (_processes[app.Name] == process)
            {
                _processes[app.Name] = null;
            }
        }
    }

    /// <summary>
    /// Waits until the service answers as ready. One of the step's services whose health endpoint
    /// answers 503 runs but lacks something it needs (reporting, a RabbitMQ that is not there): it
    /// counts as started, with a warning that says what it lacks, so that the others still start.
    /// </summary>
    private static async Task WaitHealthyAsync(LocalCommand app, LocalProcess process, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        var nextProgress = TimeSpan.FromSeconds(5);
        TimeSpan? notReadySince = null;
        while (watch.Elapsed < HealthTimeout)
        {
            ct.ThrowIfCancellationRequested();
            if (watch.Elapsed >= nextProgress)
            {
                Ui.Info($"  waiting for {app.Name} to {app.ReadyDescription} ({watch.Elapsed.TotalSeconds:0} s) ...");
                nextProgress += TimeSpan.FromSeconds(5);
            }

            if (process.HasExited)
            {
                try
                {
                    // Its last lines may still be on their way, and the reason it ended is among them.
                    await process.Exited.WaitAsync(TimeSpan.FromSeconds(2), ct);
                }
                catch (TimeoutException)
                {
                    // A child still holds its output open: what arrived will do.
                }

                throw new UserError($"{app.Name} exited while starting ({process.Ending}; its log is above)");
            }

            switch (await AskAsync(app.ReadyUrl, app.Port, ct))
            {
                case Answer.Ready:
                    Ui.Ok(app.IsInfrastructure ? $"{app.Name} is ready ({watch.Elapsed.TotalSeconds:0.0} s)" : $"{app.Name} is healthy ({watch.Elapsed.TotalSeconds:0.0} s)");
                    return;
                case Answer.NotReady when !app.IsInfrastructure:
                    notReadySince ??= watch.Elapsed;
                    if (watch.Elapsed - notReadySince >= NotReadyAfter)
                    {
                        await WarnNotReadyAsync(app, watch.Elapsed, ct);
                        return;
                    }

                    break;
                default:
                    notReadySince = null;
                    break;
            }

            await Task.Delay(250, ct);
        }

        throw new UserError($"{app.Name} did not {app.ReadyDescription} within {HealthTimeout.TotalSeconds:0} s");
    }

    /// <summary>Says that the service runs but is not ready, and what its /health/ready names as not healthy.</summary>
    private static async Task WarnNotReadyAsync(LocalCommand app, TimeSpan elapsed, CancellationToken ct)
    {
        var why = await UnhealthyChecksAsync($"{app.Url}/health/ready", ct) is { } checks ? $", and /health/ready says {checks}" : "";
        Ui.Warn($"{app.Name} started but is not ready ({elapsed.TotalSeconds:0.0} s): {new Uri(app.ReadyUrl!).AbsolutePath} answers 503{why}");
    }

    /// <summary>The ready address answers 2xx; without one, the port accepts a connection.</summary>
    public static async Task<bool> IsReadyAsync(string? readyUrl, int port, CancellationToken ct) =>
        await AskAsync(readyUrl, port, ct) == Answer.Ready;

    /// <summary>What a service's ready address answered.</summary>
    private enum Answer
    {
        /// <summary>Nothing yet, or something other than ready or not ready: still starting.</summary>
        None,

        /// <summary>2xx; or, without a ready address, the port took a connection.</summary>
        Ready,

        /// <summary>503: it runs, but says it cannot do its work.</summary>
        NotReady,
    }

    private static async Task<Answer> AskAsync(string? readyUrl, int port, CancellationToken ct)
    {
        if (readyUrl is null && port == 0)
        {
            // Nothing to ask: a piece of infrastructure that serves no port is ready once it runs.
            return Answer.Ready;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            if (readyUrl is null)
            {
                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync(System.Net.IPAddress.Loopback, port, timeout.Token);
                return Answer.Ready;
            }

            using var response = await Probe.GetAsync(readyUrl, timeout.Token);
            return response.IsSuccessStatusCode ? Answer.Ready
                : response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable ? Answer.NotReady
                : Answer.None;
        }
        catch (Exception e) when (e is HttpRequestException or System.Net.Sockets.SocketException || e is OperationCanceledException && !ct.IsCancellationRequested)
        {
            return Answer.None;
        }
    }

    /// <summary>
    /// The checks /health/ready names as not healthy, from its JSON (steps 06 on):
    /// <c>{"status":"Unhealthy","checks":[{"name":"rabbitmq","status":"Unhealthy","description":"..."}]}</c>
    /// as "rabbitmq is Unhealthy (...)". Null where it names none, or answers no such JSON (steps before 06 have no /health/ready).
    /// </summary>
    private static async Task<string?> UnhealthyChecksAsync(string url, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            using var response = await Probe.GetAsync(url, timeout.Token);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(timeout.Token));
            var checks = json.RootElement.GetProperty("checks").EnumerateArray()
                .Where(check => check.GetProperty("status").GetString() != "Healthy")
                .Select(Describe)
                .ToList();
            return checks.Count == 0 ? null : string.Join("; ", checks);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or InvalidOperationException or KeyNotFoundException
            || e is OperationCanceledException && !ct.IsCancellationRequested)
        {
            return null;
        }

        static string Describe(JsonElement check)
        {
            var said = $"{check.GetProperty("name").GetString()} is {check.GetProperty("status").GetString()}";
            // A description may run over lines (an exception's message): one line here.
            return check.TryGetProperty("description", out var description) && description.GetString() is { Length: > 0 } text
                ? $"{said} ({string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))})"
                : said;
        }
    }

    /// <summary>Stops every service, the last started first.</summary>
    public async ValueTask DisposeAsync()
    {
        List<LocalProcess> processes;
        lock (_gate)
        {
            _disposing = true;
            processes = services.Select(a => _processes[a.Name]).OfType<LocalProcess>().Reverse().ToList();
        }

        foreach (var process in processes)
        {
            await process.DisposeAsync();
        }
    }
}
