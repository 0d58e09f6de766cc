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
        // The ports docker compose would publish: the documented ones, unless USERS_PORT and the like
        // move them (in the environment, or in the step's .env file).
        var (apps, infra) = StepServices.Load(step, StepVariables.Read(step));
        LocalhostProxy.WarnIfBypassed();

        foreach (var app in apps.Where(a => a.HostPort.Moved))
        {
            Ui.Info($"{app.Name} runs on port {app.Port}, not {app.HostPort.Documented}: {app.HostPort.Variable} is set in {app.HostPort.Source}");
        }

        // Every port before the build, so that a step still running is reported at once.
        foreach (var app in apps)
        {
            await RunningServices.EnsurePortFreeAsync(app.Name, app.Port, Ports.HowToMove(app.Name, app.HostPort, [step]));
        }

        IReadOnlyDictionary<string, string> ServiceEnvironment(AppService app)
        {
            var environment = new Dictionary<string, string>();
            if (StepData.MovedDatabase(app) is { } database)
            {
                environment["Database__Path"] = database;
            }

            // A service that calls a moved one is told where it now is, through the key compose sets
            // for it (AccountsClient__BaseAddress), unless that key is set here already.
            foreach (var address in app.Addresses)
            {
                var target = apps.Single(a => a.Name == address.Service);
                if (target.HostPort.Moved && Environment.GetEnvironmentVariable(address.Key) is null)
                {
                    environment[address.Key] = address.OnHost(target.Port);
                }
            }

            return environment;
        }

        if (fresh)
        {
            StepData.Remove(step, StepData.Existing(step, apps), "--fresh");
        }

        var (localInfra, elsewhere) = await PlanInfrastructureAsync(step, infra, apps);

        await BuildAsync(step, apps);

        using var stop = new CancellationTokenSource();
        using var sigint = Register(PosixSignal.SIGINT, stop);
        using var sigterm = Register(PosixSignal.SIGTERM, stop);
        // The terminal window closed (on Windows: the console window), or the SSH session dropped:
        // stop the services too, so that none is left holding its port for the next `up`. Under nohup
        // the signal stays ignored (.NET does not handle a signal ignored at start): the step runs on.
        using var sighup = Register(PosixSignal.SIGHUP, stop);

        // The infrastructure first: the step's services may need it as they start.
        var commands = localInfra.Concat(apps.Select(app => LocalCommand.ForApp(app, ServiceEnvironment(app)))).ToList();
        var services = new RunningServices(commands, elsewhere);
        try
        {
            foreach (var command in commands)
            {
                await services.StartAsync(command, stop.Token);
            }

            PrintTable(step, apps, infra, elsewhere);
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
    /// For each piece of infrastructure: use it where it already runs (docker compose, or started by
    /// hand), else run its program when installed, else go on without it where the step can, saying
    /// what is lost, else refuse, naming the command that starts it.
    /// </summary>
    private static async Task<(List<LocalCommand> Local, Dictionary<string, string> Elsewhere)> PlanInfrastructureAsync(Step step, IReadOnlyList<InfraService> infra, IReadOnlyList<AppService> apps)
    {
        var local = new List<LocalCommand>();
        var elsewhere = new Dictionary<string, string>();
        foreach (var service in infra)
        {
            var compose = $"docker compose -f {step.Folder}/docker-compose.yml up -d {service.Name}";
            var program = service.Program;
            // Asked before the port is checked: a port Docker publishes need not look taken from here.
            if (service.Port != 0 && await RunningServices.IsReadyAsync(service.Ready, service.Port, CancellationToken.None))
            {
                Ui.Ok($"{service.Name} already runs on {service.Url}: the step uses it");
                elsewhere[service.Name] = "runs elsewhere: docker compose, or started by hand";
            }
            else if (!Ports.IsFree(service.Port))
            {
                throw new UserError($"port {service.Port} ({service.Name}) is already in use, but what holds it does not answer {service.Ready ?? "there"}: {await Ports.HowToFreeAsync(service.Port)}");
            }
            else if (LocalCommand.ForInfra(service, step) is { } command)
            {
                local.Add(InfraConfig.Apply(command, service, step, apps));
            }
            else if (service.Without is not null)
            {
                var missing = program is null ? "workshop cannot run it without Docker" : $"`{program}` is not installed";
                Ui.Warn($"{service.Name} is not running and {missing}, so {step.Folder} runs without it: {service.Without}. To add it: {service.Install ?? compose}");
                elsewhere[service.Name] = "not running: the step runs without it";
            }
            else
            {
                var install = program is null ? "" : $"install `{program}` (workshop up then runs it), or ";
                throw new UserError($"{step.Folder} needs {service.Name}, which is not running: {install}start it with `{compose}`, then run `{Ui.Command} up {step.Folder[..2]}` again");
            }
        }

        return (local, elsewhere);
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
            using var build = Process.Start(start) ?? throw new UserError($"could not run `dotnet build`: is the .NET SDK installed? (see: {Ui.Command} doctor)");
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

                var failed = $"the build of {app.Name} failed ({Path.GetRelativePath(step.Directory, app.ProjectFile)})";
                // NU1301: the package source could not be reached, as on a workshop room's busy or absent network.
                throw new UserError(lines.Any(l => l.Contains("NU1301", StringComparison.Ordinal))
                    ? $"{failed}: NuGet could not reach its package source. A step's first build downloads its packages: "
                        + "run it once on a working network (README.md, Prerequisites: before the workshop)"
                    : failed);
            }
        }
    }

    private static void PrintTable(Step step, IReadOnlyList<AppService> apps, IReadOnlyList<InfraService> infra, IReadOnlyDictionary<string, string> elsewhere)
    {
        var width = Math.Max(7, apps.Select(a => a.Name.Length).DefaultIfEmpty(0).Max());
        Ui.Line();
        Ui.Line($"{step.Folder} is running. Press Ctrl-C to stop.");
        Ui.Line();
        if (apps.Count > 0)
        {
            Ui.Line($"  {"service".PadRight(width)}  {"url",-22}  {"openapi",-42}  health");
            foreach (var app in apps)
            {
                Ui.Line($"  {app.Name.PadRight(width)}  {app.Url,-22}  {app.Url + "/openapi/v1.json",-42}  {app.Url}/health");
            }

            Ui.Line();
        }

        if (infra.Count > 0)
        {
            var infraWidth = Math.Max(14, infra.Max(s => s.Name.Length));
            Ui.Line($"  {"infrastructure".PadRight(infraWidth)}  {"url",-22}  state");
            foreach (var service in infra)
            {
                var runs = elsewhere.TryGetValue(service.Name, out var why) ? why : $"runs here, from {service.Program}";
                Ui.Line($"  {service.Name.PadRight(infraWidth)}  {service.Url,-22}  {runs}");
            }

            Ui.Line();
        }

        Ui.Line($"Try it: see {step.Folder}/README.md, or run `{Ui.Command} check {step.Folder[..2]}` in another terminal.");
        Ui.Line();
    }
}
