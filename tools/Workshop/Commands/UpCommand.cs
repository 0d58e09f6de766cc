using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Workshop.Steps;

namespace Workshop.Commands;

/// <summary>
/// Builds a step and runs its services as local processes on the documented ports: no Docker needed.
/// </summary>
public static class UpCommand
{
    public static async Task<int> RunAsync(Step step, bool fresh)
    {
        var (apps, infra) = StepServices.Load(step);
        // Every port before the build, so that a step still running is reported at once.
        foreach (var app in apps)
        {
            await RunningServices.EnsurePortFreeAsync(app);
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

        var services = new RunningServices(apps, ServiceEnvironment);
        try
        {
            foreach (var app in apps)
            {
                await services.StartAsync(app, stop.Token);
            }

            PrintTable(step, apps);
            services.PrintHelp();
            Ui.Line();

            // From here on, a service that stops (by itself or by a command) leaves the others running.
            await foreach (var line in ReadCommands().ReadAllAsync(stop.Token))
            {
                await services.ExecuteAsync(line, stop.Token);
            }

            // No terminal to read commands from (input at its end): run until Ctrl-C or a signal.
            await Task.Delay(Timeout.Infinite, stop.Token);
            return 0;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return 0;
        }
        finally
        {
            Ui.Info("Stopping ...");
            await services.DisposeAsync();
            Ui.Info($"Stopped {step.Folder}.");
        }
    }

    /// <summary>
    /// The lines typed at the terminal while the step runs. Read only when workshop owns the terminal's
    /// input: a job started in the background (`./workshop up 03 &amp;`) that read it would be stopped by
    /// the terminal (SIGTTIN).
    /// </summary>
    private static ChannelReader<string> ReadCommands()
    {
        var channel = Channel.CreateUnbounded<string>();
        if (!Console.IsInputRedirected && !OperatingSystem.IsWindows() && !InForeground())
        {
            channel.Writer.Complete();
            return channel.Reader;
        }

        var reader = new Thread(() =>
        {
            try
            {
                while (Console.In.ReadLine() is { } line)
                {
                    channel.Writer.TryWrite(line);
                }
            }
            catch (IOException)
            {
            }
            finally
            {
                channel.Writer.TryComplete();
            }
        })
        { IsBackground = true, Name = "workshop commands" };
        reader.Start();
        return channel.Reader;
    }

    private static bool InForeground() => TerminalForegroundGroup(0) == ProcessGroup();

    [DllImport("libc", EntryPoint = "tcgetpgrp")]
    private static extern int TerminalForegroundGroup(int fd);

    [DllImport("libc", EntryPoint = "getpgrp")]
    private static extern int ProcessGroup();

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
