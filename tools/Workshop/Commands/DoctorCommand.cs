using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Workshop.Steps;

namespace Workshop.Commands;

/// <summary>Checks what an attendee's machine needs and says how to fix each problem.</summary>
public static partial class DoctorCommand
{
    /// <summary>Every host port the workshop uses, with what uses it (see the root README).</summary>
    private static readonly (int Port, string Use)[] WorkshopPorts =
    [
        (8000, "gateway"), (8001, "users"), (8002, "accounts"), (8003, "reporting"),
        (8500, "consul"), (16686, "jaeger UI"), (4317, "jaeger OTLP gRPC"), (4318, "jaeger OTLP HTTP"),
        (9090, "prometheus"), (3000, "grafana"), (5672, "rabbitmq"), (15672, "rabbitmq management"),
    ];

    public static async Task<int> RunAsync()
    {
        var failures = 0;
        var steps = StepCatalog.Load(StepCatalog.FindRoot());

        var sdks = await RunAsync("dotnet", "--list-sdks");
        var sdk = sdks?.Split('\n').Select(l => SdkVersion().Match(l)).Where(m => m.Success)
            .Select(m => Version.Parse(m.Groups["v"].Value)).OrderDescending().FirstOrDefault();
        if (sdk is not null && sdk.Major >= 10)
        {
            Ui.Ok($".NET SDK {sdk}");
        }
        else
        {
            failures++;
            Ui.Fail(sdk is null ? ".NET SDK not found" : $".NET SDK {sdk} is too old");
            Ui.Line("       install the .NET 10 SDK: https://dotnet.microsoft.com/download/dotnet/10.0");
        }

        var runtimes = await RunAsync("dotnet", "--list-runtimes") ?? "";
        if (runtimes.Contains("Microsoft.AspNetCore.App 10.", StringComparison.Ordinal))
        {
            Ui.Ok("ASP.NET Core runtime 10");
        }
        else
        {
            failures++;
            Ui.Fail("ASP.NET Core runtime 10 not found");
            Ui.Line("       it comes with the .NET 10 SDK: https://dotnet.microsoft.com/download/dotnet/10.0");
        }

        if (await RunAsync("curl", "--version") is { } curl)
        {
            Ui.Ok(curl.Split('\n')[0].Split(' ').Take(2).Aggregate((x, y) => $"{x} {y}"));
        }
        else
        {
            failures++;
            Ui.Fail("curl not found: the README commands and `workshop check` use it");
            Ui.Line("       install curl (apt install curl, brew install curl; Windows 10+ ships curl.exe)");
        }

        LocalhostProxy.WarnIfBypassed();

        CheckPackages(steps);

        if (await RunAsync("docker", "--version") is null)
        {
            Ui.Warn($"Docker not found: fine for `{Ui.Command} up`; install Docker Desktop or Docker Engine for `docker compose up`");
        }
        else if (await RunAsync("docker", "info", "--format", "{{.ServerVersion}}") is { Length: > 0 } engine)
        {
            Ui.Ok($"Docker engine {engine.Trim()}");
            if (await RunAsync("docker", "compose", "version", "--short") is null)
            {
                Ui.Warn("`docker compose` (v2) not found: install the Docker Compose plugin");
            }

            // `docker image inspect` fails when any one of the images is not on the machine.
            var images = BaseImages(steps);
            if (await RunAsync("docker", ["image", "inspect", "--format", "{{.Id}}", .. images]) is not null)
            {
                Ui.Ok($"the images the steps build from are on this machine ({string.Join(", ", images)})");
            }
            else
            {
                Ui.Warn("the images the steps build from are not all on this machine yet: "
                    + "on a good network, run `docker compose build` at the repository root");
            }
        }
        else
        {
            Ui.Warn("Docker is installed but its engine is not running: start Docker Desktop (only needed for `docker compose up`)");
        }

        CheckInfrastructure(steps);

        failures += await CheckPortsAsync(steps);

        Ui.Line();
        Ui.Line(failures == 0 ? "Ready for the workshop." : $"{failures} problem(s) to fix before the workshop.");
        return failures == 0 ? 0 : 1;
    }

    /// <summary>A host port the workshop needs and what needs it.</summary>
    /// <param name="Host">For a step's own service: its mapping, with the variable that moves it.</param>
    /// <param name="Steps">For a step's own service: the steps that run it on this port.</param>
    private sealed record PortUse(int Port, string Use, HostPort? Host, IReadOnlyList<Step> Steps);

    /// <summary>
    /// The ports the workshop needs, free or not: each step's own services on the ports that step runs
    /// them on (moved by USERS_PORT and the like in the environment, for every step, or in the step's
    /// .env, for that step alone), and the documented ports of everything else.
    /// </summary>
    private static async Task<int> CheckPortsAsync(IReadOnlyList<Step> steps)
    {
        var uses = PortUses(steps);
        var busy = uses.Where(u => !Ports.IsFree(u.Port)).ToList();
        foreach (var moved in uses.Except(busy).Where(u => u.Host is { Moved: true }))
        {
            Ui.Ok($"{moved.Use} runs on port {moved.Port}, not {moved.Host!.Documented}, in {StepCatalog.Numbers(moved.Steps)}: "
                + $"{moved.Host.Variable} is set in {moved.Host.Source}");
        }

        if (busy.Count == 0)
        {
            Ui.Ok($"ports {string.Join(", ", uses.Select(u => u.Port).Distinct())} are free");
        }

        foreach (var use in busy)
        {
            var what = use.Host is null ? use.Use
                : use.Host.Moved ? $"{use.Use}, {StepCatalog.Numbers(use.Steps)}, from {use.Host.Variable} in {use.Host.Source}"
                : $"{use.Use}, {StepCatalog.Numbers(use.Steps)}";
            Ui.Fail($"port {use.Port} ({what}) is in use: {await Ports.HowToFreeAsync(use.Port, use.Host is null ? null : Ports.HowToMove(use.Use, use.Host, use.Steps))}");
        }

        return busy.Count;
    }

    private static List<PortUse> PortUses(IReadOnlyList<Step> steps)
    {
        var apps = steps
            .SelectMany(step => StepServices.Load(step, StepVariables.Read(step)).Apps.Where(app => app.Port != 0).Select(app => (Step: step, App: app)))
            .ToList();
        var documented = WorkshopPorts.Concat(apps.Select(a => (Port: a.App.HostPort.Documented, Use: a.App.Name))).DistinctBy(p => p.Port);
        var uses = new List<PortUse>();
        foreach (var (port, use) in documented)
        {
            var runs = apps.Where(a => a.App.HostPort.Documented == port).ToList();
            if (runs.Count == 0)
            {
                uses.Add(new PortUse(port, use, null, []));
                continue;
            }

            // One entry per port the service runs on, and per place that moved it there.
            uses.AddRange(runs.GroupBy(r => (r.App.Port, r.App.HostPort.Source)).Select(on =>
                new PortUse(on.Key.Port, on.First().App.Name, on.First().App.HostPort, [.. on.Select(r => r.Step)])));
        }

        return uses;
    }

    /// <summary>
    /// Whether the packages of every step's projects are on this machine, so that no step needs the
    /// network (the README's advice before the workshop). NuGet records each restore of a project in
    /// obj/project.nuget.cache, with the package files the project needs.
    /// </summary>
    private static void CheckPackages(IReadOnlyList<Step> steps)
    {
        var missing = steps
            .Where(step => !Directory.EnumerateFiles(step.Directory, "*.csproj", SearchOption.AllDirectories)
                .Where(project => !IsBuildOutput(step.Directory, project))
                .All(HasItsPackages))
            .ToList();
        if (missing.Count == 0)
        {
            Ui.Ok("the packages of every step are on this machine: no step needs the network");
        }
        else
        {
            Ui.Warn($"the packages of {StepCatalog.Numbers(missing)} are not all on this machine yet: "
                + "on a good network, run `dotnet build` at the repository root, and no step needs the network after that");
        }
    }

    /// <summary>The images the steps' Dockerfiles build from (FROM, less an earlier stage's name), each once.</summary>
    private static List<string> BaseImages(IReadOnlyList<Step> steps)
    {
        var images = new SortedSet<string>(StringComparer.Ordinal);
        var dockerfiles = steps
            .SelectMany(step => Directory.EnumerateFiles(step.Directory, "Dockerfile", SearchOption.AllDirectories)
                .Where(file => !IsBuildOutput(step.Directory, file)));
        foreach (var dockerfile in dockerfiles)
        {
            var stages = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var from in File.ReadLines(dockerfile).Select(line => FromLine().Match(line)).Where(m => m.Success))
            {
                if (!stages.Contains(from.Groups["image"].Value))
                {
                    images.Add(from.Groups["image"].Value);
                }

                if (from.Groups["stage"].Success)
                {
                    stages.Add(from.Groups["stage"].Value);
                }
            }
        }

        return [.. images];
    }

    private static bool IsBuildOutput(string stepDirectory, string path) =>
        Path.GetRelativePath(stepDirectory, path).Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar) is var parts
        && (parts.Contains("bin") || parts.Contains("obj"));

    private static bool HasItsPackages(string project)
    {
        var record = Path.Combine(Path.GetDirectoryName(project)!, "obj", "project.nuget.cache");
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllText(record));
            return json.RootElement.TryGetProperty("success", out var success) && success.ValueKind == JsonValueKind.True
                && json.RootElement.GetProperty("expectedPackageFiles").EnumerateArray().All(file => File.Exists(file.GetString()));
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return false; // never restored here (a fresh clone), or a record NuGet did not finish
        }
    }

    /// <summary>
    /// The programs of the steps' infrastructure (Consul, Jaeger ...): optional, since `workshop up`
    /// names the docker compose command for one that is missing, but each one installed spares Docker.
    /// </summary>
    private static void CheckInfrastructure(IReadOnlyList<Step> steps)
    {
        var uses = steps
            .SelectMany(step => StepServices.Load(step).Infra.Select(service => (Step: step, Service: service)))
            .GroupBy(use => use.Service.Program ?? use.Service.Name);
        foreach (var program in uses)
        {
            var which = StepCatalog.Numbers(program.Select(use => use.Step));
            var (step, service) = program.First();
            if (service.Run is null)
            {
                Ui.Warn($"{service.Name}: only docker compose runs it ({which})");
            }
            else if (LocalCommand.ForInfra(service, step) is { } command)
            {
                Ui.Ok($"{program.Key} installed ({command.Program}): `workshop up` runs it for {which}");
            }
            else
            {
                Ui.Warn($"{program.Key} not installed: fine with Docker; install it to run {which} without Docker");
            }
        }
    }

    /// <summary>Runs a program for its output; null when it is missing, fails or takes more than ten seconds.</summary>
    private static async Task<string?> RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        try
        {
            using var process = Process.Start(start);
            if (process is null)
            {
                return null;
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
            _ = process.StandardError.ReadToEndAsync(timeout.Token);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                return null;
            }

            return process.ExitCode == 0 ? await output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    [GeneratedRegex(@"^\s*FROM\s+(--platform=\S+\s+)?(?<image>\S+)(\s+AS\s+(?<stage>\S+))?", RegexOptions.IgnoreCase)]
    private static partial Regex FromLine();

    [GeneratedRegex(@"^(?<v>\d+\.\d+\.\d+)")]
    private static partial Regex SdkVersion();
}
