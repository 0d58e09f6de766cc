using System.Diagnostics;

namespace Workshop.Steps;

/// <summary>
/// The services of a step that `workshop up` runs. Each one can be stopped, started, paused and
/// resumed while the others run on, so that an instructor can break one on purpose and show what
/// the rest do. When a service ends by itself, the others keep running too.
/// </summary>
public sealed class RunningServices(
    IReadOnlyList<AppService> apps, Func<AppService, IReadOnlyDictionary<string, string>> environment) : IAsyncDisposable
{
    private static readonly TimeSpan HealthTimeout = TimeSpan.FromSeconds(60);

    private readonly object _gate = new();
    private readonly Dictionary<string, LocalProcess?> _processes = apps.ToDictionary(a => a.Name, _ => (LocalProcess?)null);
    private readonly int _width = apps.Max(a => a.Name.Length);
    private bool _disposing;

    /// <summary>Starts the service and waits until its health endpoint answers.</summary>
    public async Task StartAsync(AppService app, CancellationToken ct)
    {
        await EnsurePortFreeAsync(app);

        var dll = Path.Combine(app.ProjectDirectory, "bin", "Debug", "net10.0", app.ProjectName + ".dll");
        Ui.Info($"Starting {app.Name} on {app.Url} ...");
        var process = LocalProcess.Start(app, dll, environment(app), _width, colour: apps.ToList().IndexOf(app));
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
    public static async Task EnsurePortFreeAsync(AppService app)
    {
        if (!Ports.IsFree(app.Port))
        {
            throw new UserError($"port {app.Port} ({app.Name}) is already in use: {await Ports.HowToFreeAsync(app.Port)}");
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
                var app = apps.FirstOrDefault(a => a.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
                if (app is null)
                {
                    Ui.Fail($"this step has no service '{name}'; it has {string.Join(", ", apps.Select(a => a.Name))}");
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

    private async Task ExecuteAsync(string verb, AppService app, CancellationToken ct)
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

    private async Task StopAsync(AppService app, LocalProcess process)
    {
        Forget(app, process);
        await process.DisposeAsync();
    }

    /// <summary>What the commands are, printed once the step runs and on `help`.</summary>
    public void PrintHelp()
    {
        var example = apps[0].Name;
        Ui.Line("While it runs, type a command and Enter:");
        Ui.Line($"  stop {example}      start {example}      restart {example}");
        Ui.Line($"  pause {example}     (hangs it: alive, holding its port, answering nothing)      resume {example}");
        Ui.Line("  status      help      (Ctrl-C stops every service)");
    }

    private void PrintStatus()
    {
        foreach (var app in apps)
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
    }

    private async Task ReportUnexpectedExitAsync(AppService app, LocalProcess process)
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

        Ui.Warn($"{app.Name} stopped by itself (exit code {process.ExitCode}; its log is above); the other services keep running. `start {app.Name}` starts it again.");
    }

    private LocalProcess? ProcessOf(AppService app)
    {
        lock (_gate)
        {
            return _processes[app.Name];
        }
    }

    private void Forget(AppService app, LocalProcess process)
    {
        lock (_gate)
        {
            if (_processes[app.Name] == process)
            {
                _processes[app.Name] = null;
            }
        }
    }

    private static async Task WaitHealthyAsync(AppService app, LocalProcess process, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var watch = Stopwatch.StartNew();
        var nextProgress = TimeSpan.FromSeconds(5);
        while (watch.Elapsed < HealthTimeout)
        {
            ct.ThrowIfCancellationRequested();
            if (watch.Elapsed >= nextProgress)
            {
                Ui.Info($"  waiting for {app.Name} to answer {app.Url}/health ({watch.Elapsed.TotalSeconds:0} s) ...");
                nextProgress += TimeSpan.FromSeconds(5);
            }

            if (process.HasExited)
            {
                throw new UserError($"{app.Name} exited with code {process.ExitCode} while starting; see its log above");
            }

            try
            {
                using var response = await http.GetAsync($"{app.Url}/health", ct);
                if (response.IsSuccessStatusCode)
                {
                    Ui.Ok($"{app.Name} is healthy ({watch.Elapsed.TotalSeconds:0.0} s)");
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
            }

            await Task.Delay(250, ct);
        }

        throw new UserError($"{app.Name} did not become healthy within {HealthTimeout.TotalSeconds:0} s ({app.Url}/health)");
    }

    /// <summary>Stops every service, the last started first.</summary>
    public async ValueTask DisposeAsync()
    {
        List<LocalProcess> processes;
        lock (_gate)
        {
            _disposing = true;
            processes = apps.Select(a => _processes[a.Name]).OfType<LocalProcess>().Reverse().ToList();
        }

        foreach (var process in processes)
        {
            await process.DisposeAsync();
        }
    }
}
