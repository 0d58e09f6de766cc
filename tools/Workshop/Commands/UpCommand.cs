using System.Diagnostics;
using System.Runtime.InteropServices;
using Workshop.Steps;

namespace Workshop.Commands;

/// <summary>
/// Builds a step and runs its services as local processes on the documented ports: no Docker needed.
/// </summary>
public static class UpCommand
{
    private static readonly TimeSpan HealthTimeout = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(Step step, bool fresh)
    {
        var (apps, infra) = StepServices.Load(step);
        foreach (var app in apps.Where(a => !Ports.IsFree(a.Port)))
        {
            throw new UserError($"port {app.Port} ({app.Name}) is already in use: stop what holds it (find it with `{Ports.HowToFindHolder(app.Port)}`)");
        }

        foreach (var service in infra)
        {
            Ui.Warn($"{service.Name} ({service.Image}) is not started by `workshop up`; run it with: docker compose -f {step.Folder}/docker-compose.yml up -d {service.Name}");
        }

        // Each service keeps its SQLite file in its project folder (data/), unless WORKSHOP_DATA_DIR
        // names another place, as the repository tests do to leave an attendee's data alone.
        var dataRoot = Environment.GetEnvironmentVariable("WORKSHOP_DATA_DIR");
        string DataDirectory(AppService app) => dataRoot is null ? Path.Combine(app.ProjectDirectory, "data") : Path.Combine(dataRoot, app.Name);
        IReadOnlyDictionary<string, string> ServiceEnvironment(AppService app) => dataRoot is null
            ? new Dictionary<string, string>()
            : new Dictionary<string, string> { ["Database__Path"] = Path.Combine(DataDirectory(app), app.Name + ".db") };

        if (fresh)
        {
            foreach (var data in apps.Select(DataDirectory).Where(Directory.Exists))
            {
                Directory.Delete(data, recursive: true);
                Ui.Info($"--fresh: removed {Path.GetRelativePath(step.Directory, data)}");
            }
        }

        await BuildAsync(step, apps);

        using var stop = new CancellationTokenSource();
        using var sigint = Register(PosixSignal.SIGINT, stop);
        using var sigterm = Register(PosixSignal.SIGTERM, stop);
        // The terminal window closed (on Windows: the console window), or the SSH session dropped:
        // stop the services too, so that none is left holding its port for the next `up`.
        using var sighup = Register(PosixSignal.SIGHUP, stop);

        var running = new List<(AppService App, LocalProcess Process)>();
        try
        {
            var width = apps.Max(a => a.Name.Length);
            foreach (var (app, index) in apps.Select((a, i) => (a, i)))
            {
                var dll = Path.Combine(app.ProjectDirectory, "bin", "Debug", "net10.0", app.ProjectName + ".dll");
                Ui.Info($"Starting {app.Name} on {app.Url} ...");
                var process = LocalProcess.Start(app, dll, ServiceEnvironment(app), width, index);
                running.Add((app, process));
                await WaitHealthyAsync(app, process, stop.Token);
            }

            PrintTable(step, apps);

            await Task.WhenAny(running.Select(r => r.Process.Exited).Append(Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { })));
            // Ctrl-C in a terminal reaches the services too, and one may exit a moment before our own
            // handler has run: give it that moment before calling an exit unexpected.
            await Task.Delay(TimeSpan.FromMilliseconds(500), CancellationToken.None);
            var dead = running.FirstOrDefault(r => r.Process.HasExited);
            if (!stop.IsCancellationRequested && dead.Process is not null)
            {
                throw new UserError($"{dead.App.Name} stopped unexpectedly (exit code {dead.Process.ExitCode}); see its log above");
            }

            return 0;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return 0;
        }
        finally
        {
            Ui.Info("Stopping ...");
            for (var i = running.Count - 1; i >= 0; i--)
            {
                await running[i].Process.DisposeAsync();
            }

            Ui.Info($"Stopped {step.Folder}.");
        }
    }

    private static IDisposable? Register(PosixSignal signal, CancellationTokenSource stop)
    {
        try
        {
            return PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                stop.Cancel();
            });
        }
        catch (PlatformNotSupportedException)
        {
            return null;
        }
    }

    private static async Task BuildAsync(Step step, IReadOnlyList<AppService> apps)
    {
        Ui.Info($"Building {step.Folder} ...");
        // Only the services: the tests of the step are not needed to run it.
        foreach (var app in apps)
        {
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { "build", app.ProjectFile, "-c", "Debug", "-nologo", "-v", "quiet", "-clp:ErrorsOnly;NoSummary" })
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment["DOTNET_NOLOGO"] = "1";
            start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            using var build = Process.Start(start) ?? throw new UserError("could not run `dotnet build`: is the .NET SDK installed? (see: workshop doctor)");
            var output = build.StandardOutput.ReadToEndAsync();
            var errors = build.StandardError.ReadToEndAsync();
            await build.WaitForExitAsync();
            if (build.ExitCode != 0)
            {
                var lines = (await output + await errors).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                foreach (var line in lines.Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)).Distinct().Take(20))
                {
                    Console.Error.WriteLine("  " + line);
                }

                throw new UserError($"the build of {app.Name} failed ({Path.GetRelativePath(step.Directory, app.ProjectFile)})");
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

    private static void PrintTable(Step step, IReadOnlyList<AppService> apps)
    {
        var width = Math.Max(7, apps.Max(a => a.Name.Length));
        Ui.Line();
        Ui.Line($"{step.Folder} is running. Press Ctrl-C to stop.");
        Ui.Line();
        Ui.Line($"  {"service".PadRight(width)}  {"url",-22}  {"openapi",-42}  health");
        foreach (var app in apps)
        {
            Ui.Line($"  {app.Name.PadRight(width)}  {app.Url,-22}  {app.Url + "/openapi/v1.json",-42}  {app.Url}/health");
        }

        Ui.Line();
        Ui.Line($"Try it: see {step.Folder}/README.md, or run `./workshop check {step.Folder[..2]}` in another terminal.");
        Ui.Line();
    }
}
