using System.Net;
using System.Text.Json;

namespace Repository.Tests;

public sealed class WorkshopCommandTests
{
    [Fact]
    public async Task List_PrintsEveryStep_OneLineEach()
    {
        var list = await WorkshopCommand.RunAsync("list");

        Assert.Equal(0, list.ExitCode);
        var lines = list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Repo.Steps.Select(s => s.Folder), lines.Select(l => l.Split(' ')[0]));
        Assert.All(Repo.Steps.Zip(lines), pair => Assert.EndsWith(pair.First.Title, pair.Second));
    }

    [Theory]
    [InlineData("up 99", "unknown step '99'")]
    [InlineData("check banana", "unknown step 'banana'")]
    [InlineData("diff 01", "wrong arguments for 'diff': ./workshop diff NN MM [--names]")]
    [InlineData("check", "wrong arguments for 'check': ./workshop check NN")]
    [InlineData("up 01 --fast", "unknown option '--fast'")]
    [InlineData("launch", "unknown command 'launch'")]
    [InlineData("reset", "wrong arguments for 'reset': ./workshop reset NN [--yes]")]
    [InlineData("chaos", "wrong arguments for 'chaos': ./workshop chaos NN [fail RATE] [slow MS] [off] [--port PORT]")]
    [InlineData("chaos 07 fail 2", "fail '2': the share of requests that fail, from 0 (none) to 1 (all), e.g. 0.5")]
    [InlineData("chaos 07 fail half", "fail 'half': the share of requests that fail")]
    [InlineData("chaos 07 slow -5", "slow '-5': the milliseconds added to each request, from 0 to 60000, e.g. 2000")]
    [InlineData("chaos 07 slow", "'slow' needs a value")]
    [InlineData("chaos 07 fail 1 off", "off turns every fault off: say it alone (./workshop chaos 07 off)")]
    [InlineData("chaos 07 --port 99999", "--port '99999' is not a port")]
    [InlineData("chaos 07 explode", "unknown word 'explode' for chaos")]
    [InlineData("chaos 03 fail 1", "03-api-gateway has no fault switch: it comes with 07-circuit-breaker")]
    [InlineData("load", "wrong arguments for 'load': ./workshop load NN [rate PER_SECOND] [for SECONDS] [count REQUESTS] [mix READS:WRITES:AGGREGATIONS]")]
    [InlineData("load 07 rate 0", "rate '0': requests per second, e.g. 20, a whole number from 1 to 2000")]
    [InlineData("load 07 rate fast", "rate 'fast': requests per second")]
    [InlineData("load 07 for 99999", "for '99999': how many seconds it runs at most, e.g. 60, a whole number from 1 to 3600")]
    [InlineData("load 07 count -1", "count '-1': how many requests it sends at most")]
    [InlineData("load 07 mix 1:1", "mix '1:1': reads:writes:aggregations, three whole numbers from 0 to 100, not all 0, e.g. 6:3:1")]
    [InlineData("load 07 mix 0:0:0", "mix '0:0:0': reads:writes:aggregations")]
    [InlineData("load 07 for", "'for' needs a value")]
    [InlineData("load 07 loud", "unknown word 'loud' for load")]
    [InlineData("load 02", "02-connect has no gateway to send load through: it comes with 03-api-gateway (`./workshop load 03`)")]
    [InlineData("reset 01 --force", "unknown option '--force'")]
    [InlineData("reset 99 --yes", "unknown step '99'")]
    public async Task BadArguments_GetOneLineError_AndNonZeroExit(string arguments, string message)
    {
        var command = await WorkshopCommand.RunAsync(arguments.Split(' '));

        Assert.Equal(1, command.ExitCode);
        var line = Assert.Single(command.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("workshop: ", line);
        Assert.Contains(message, line);
        Assert.DoesNotContain("   at ", command.Output + command.Errors);
    }

    [Fact]
    public async Task Chaos_WhenTheStepIsNotRunning_SaysHowToStartIt()
    {
        var port = WorkshopFolder.FreePort();

        var chaos = await WorkshopCommand.RunAsync("chaos", "07", "fail", "1", "--port", port.ToString());

        Assert.Equal(1, chaos.ExitCode);
        Assert.Equal($"workshop: no accounts instance of 07-circuit-breaker answers on port {port}: start the step first with `./workshop up 07` or `docker compose up` in 07-circuit-breaker", chaos.Errors.Trim());
    }

    [Fact]
    public async Task Load_WhenTheStepIsNotRunning_SaysHowToStartIt()
    {
        var port = WorkshopFolder.FreePort();

        var load = await WorkshopCommand.RunAsync(new Dictionary<string, string> { ["GATEWAY_PORT"] = port.ToString() }, "load", "03", "count", "5");

        Assert.Equal(1, load.ExitCode);
        Assert.Equal($"workshop: no gateway of 03-api-gateway answers on port {port}: start the step first with `./workshop up 03` or `docker compose up` in 03-api-gateway", load.Errors.Trim());
    }

    /// <summary>The port workshop suggests in place of a taken one is a port: 1000 up, or down near the top of the range.</summary>
    [Theory]
    [InlineData(8000)]
    [InlineData(64900)]
    public void PortSuggested_ForATakenOne_IsAnotherPortInTheRange(int taken)
    {
        var suggested = Workshop.Steps.Ports.Suggest(taken);

        Assert.InRange(suggested, 1024, 65535);
        Assert.NotEqual(taken, suggested);
        Assert.Equal(0, Math.Abs(suggested - taken) % 1000);
    }

    [Fact]
    public async Task Help_ListsEveryCommand()
    {
        var help = await WorkshopCommand.RunAsync("help");

        Assert.Equal(0, help.ExitCode);
        foreach (var command in new[] { "list", "up NN", "check NN", "load NN", "chaos NN", "reset NN", "diff NN MM", "doctor" })
        {
            Assert.Contains("workshop " + command, help.Output);
        }
    }

    [Fact]
    public async Task Diff_ShowsTheFilesAStepChanged_WithTheirLines()
    {
        if (Repo.Steps.Count < 2)
        {
            Assert.Skip("needs two steps");
        }

        var (from, to) = (Repo.Steps[0], Repo.Steps[1]);
        var diff = await WorkshopCommand.RunAsync("diff", from.Folder[..2], to.Folder[..2]);

        Assert.Equal(0, diff.ExitCode);
        var listed = IncrementalStepsTests.ListedPaths(File.ReadAllText(to.ReadmePath));
        foreach (var path in listed.Where(p => !p.EndsWith('/')))
        {
            Assert.Contains(path, diff.Output);
        }

        Assert.Contains($"--- {from.Folder}/", diff.Output);
        Assert.Contains($"+++ {to.Folder}/", diff.Output);
        Assert.Matches(@"(?m)^@@ -\d+,\d+ \+\d+,\d+ @@$", diff.Output);
    }

    [Fact]
    public async Task LauncherScript_BuildsAndRunsTheWorkshopCommand()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("./workshop is the launcher for Linux and macOS");
        }

        var list = await Shell.RunAsync("bash", ["./workshop", "list"], TimeSpan.FromMinutes(3));

        Assert.True(list.ExitCode == 0, list.Errors);
        Assert.Equal(Repo.Steps.Select(s => s.Folder), list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]));
    }

    /// <summary>
    /// workshop.ps1, run by PowerShell's engine (tests/PowerShellHost: where PowerShell is not
    /// installed): it builds the tool without a word when the build succeeds, passes the arguments on,
    /// names itself in the tool's messages, and exits with the tool's exit code. In the class of the test
    /// of ./workshop above, so that the two never build the tool at the same time.
    /// </summary>
    [Fact]
    public async Task PowerShellLauncher_BuildsAndRunsTheWorkshopCommand_InItsOwnName()
    {
        var list = await RunPowerShellLauncherAsync(["list"]);
        Assert.True(list.ExitCode == 0, list.Errors);
        var direct = await WorkshopCommand.RunAsync("list");
        Assert.Equal(direct.Output.TrimEnd().Split('\n'), list.Output.TrimEnd().Split('\n'));

        var wrong = await RunPowerShellLauncherAsync(["up", "99"]);
        Assert.True(wrong.ExitCode == 1, $"exit code {wrong.ExitCode}\n{wrong.Output}{wrong.Errors}");
        Assert.Equal("", wrong.Output);
        Assert.Equal(
            $"workshop: unknown step '99': choose one of {string.Join(", ", Repo.Steps.Select(s => s.Folder[..2]))} (see: ./workshop.ps1 list)",
            Assert.Single(wrong.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public async Task PowerShellLauncher_SaysTheSdkIsMissing_WhenDotnetIsNotOnThePath()
    {
        using var empty = WorkshopFolder.Create("no-sdk", new Dictionary<string, string>());

        var run = await RunPowerShellLauncherAsync(["list"], new Dictionary<string, string> { ["PATH"] = empty.Root });

        Assert.Equal(1, run.ExitCode);
        Assert.Equal(
            "workshop: the .NET SDK is not installed: https://dotnet.microsoft.com/download/dotnet/10.0",
            Assert.Single(run.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    private static Task<ProgramResult> RunPowerShellLauncherAsync(string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var host = Path.Combine(Repo.Root, "tests", "PowerShellHost", "bin", Repo.Configuration, "net10.0", "PowerShellHost.dll");
        // The dotnet that runs the tests, by its full path: the test without an SDK takes it off the PATH.
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path
            ? path
            : Environment.GetEnvironmentVariable("PATH")!.Split(Path.PathSeparator).Select(d => Path.Combine(d, "dotnet")).First(File.Exists);
        return Shell.RunAsync(dotnet, [host, Path.Combine(Repo.Root, "workshop.ps1"), .. args], TimeSpan.FromMinutes(3), Repo.Root, environment);
    }

    /// <summary>
    /// Before the workshop, an attendee runs doctor to learn whether the room's network will be needed:
    /// a step counts as ready when NuGet's record of each of its projects' restores names package files
    /// that are all on the machine.
    /// </summary>
    [Fact]
    public async Task Doctor_NamesTheStepsWhosePackagesAreNotOnTheMachine_UntilTheyAre()
    {
        using var folder = WorkshopFolder.Create("packages", new Dictionary<string, string>
        {
            ["docker-compose.yml"] = "services: {}\n",
            ["src/Users/Users.csproj"] = "<Project Sdk=\"Microsoft.NET.Sdk.Web\" />\n",
            // Build output is not a project of the step.
            ["src/Users/bin/Debug/net10.0/Copy.csproj"] = "<Project />\n",
        });
        var environment = new Dictionary<string, string> { ["WORKSHOP_ROOT"] = folder.Root };
        var record = Path.Combine(folder.Root, folder.Step, "src", "Users", "obj", "project.nuget.cache");
        var package = Path.Combine(folder.Root, "nuget-packages", "yarp.reverseproxy", "2.3.0", "yarp.reverseproxy.2.3.0.nupkg.sha512");

        const string NotYet = "[warn] the packages of step 01 are not all on this machine yet: on a good network, run `dotnet build` at the repository root";
        const string Ready = "[ok]   the packages of every step are on this machine: no step needs the network";

        // A fresh clone: never restored.
        Assert.Contains(NotYet, (await WorkshopCommand.RunAsync(environment, "doctor")).Output);

        // Restored, and the package is in NuGet's folder.
        Directory.CreateDirectory(Path.GetDirectoryName(record)!);
        File.WriteAllText(record, JsonSerializer.Serialize(new { version = 2, success = true, expectedPackageFiles = new[] { package } }));
        Directory.CreateDirectory(Path.GetDirectoryName(package)!);
        File.WriteAllText(package, "sha512");
        Assert.Contains(Ready, (await WorkshopCommand.RunAsync(environment, "doctor")).Output);

        // NuGet's folder cleared (dotnet nuget locals all --clear): the next build downloads again.
        File.Delete(package);
        Assert.Contains(NotYet, (await WorkshopCommand.RunAsync(environment, "doctor")).Output);
    }

    /// <summary>
    /// With Docker's engine running, doctor says whether the images the steps build from are on the
    /// machine yet. A stand-in for the docker CLI answers as Docker does: `docker image inspect` fails,
    /// "No such image", when any one of the images it is given is missing.
    /// </summary>
    [Fact]
    public async Task Doctor_SaysWhetherTheStepsBaseImagesArePulled_WhenDockerRuns()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("the docker stand-in is a shell script");
            return;
        }

        var bin = Directory.CreateTempSubdirectory("docker-stand-in-").FullName;
        try
        {
            var pulled = Path.Combine(bin, "pulled-images");
            File.WriteAllText(pulled, "");
            var docker = Path.Combine(bin, "docker");
            File.WriteAllText(docker, """
                #!/bin/sh
                # A stand-in for the docker CLI with its engine running: the answers workshop doctor asks for.
                case "$1" in
                  --version) echo "Docker version 28.5.1, build 0000000" ;;
                  info) echo "28.5.1" ;;
                  compose) echo "2.40.0" ;;
                  image)
                    shift 4 # image inspect --format {{.Id}}
                    for image in "$@"; do
                      grep -qxF "$image" "$PULLED_IMAGES" || { echo "Error: No such image: $image" >&2; exit 1; }
                    done
                    for image in "$@"; do echo "sha256:0000"; done ;;
                  *) exit 1 ;;
                esac
                """);
            File.SetUnixFileMode(docker, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var environment = new Dictionary<string, string>
            {
                ["PATH"] = bin + Path.PathSeparator + Tools.PathWithSystemFolders(),
                ["PULLED_IMAGES"] = pulled,
            };

            var before = (await WorkshopCommand.RunAsync(environment, "doctor")).Output;
            Assert.Contains("[ok]   Docker engine 28.5.1", before);
            Assert.Contains(
                "[warn] the images the steps build from are not all on this machine yet: on a good network, run `docker compose build` at the repository root",
                before);

            // What the steps' Dockerfiles build from, once pulled.
            File.WriteAllLines(pulled, ["mcr.microsoft.com/dotnet/sdk:10.0", "mcr.microsoft.com/dotnet/aspnet:10.0"]);
            Assert.Contains(
                "[ok]   the images the steps build from are on this machine (mcr.microsoft.com/dotnet/aspnet:10.0, mcr.microsoft.com/dotnet/sdk:10.0)",
                (await WorkshopCommand.RunAsync(environment, "doctor")).Output);
        }
        finally
        {
            Directory.Delete(bin, recursive: true);
        }
    }

    [Fact]
    public async Task Doctor_ChecksSdkCurlDockerAndPorts()
    {
        var doctor = await WorkshopCommand.RunAsync("doctor");

        // On failure, say what doctor printed: the ports it checks may be held by other tests' services.
        var printed = $"exit code {doctor.ExitCode}\nstdout:\n{doctor.Output}\nstderr:\n{doctor.Errors}";
        Assert.True(doctor.Output.Contains("[ok]   .NET SDK 10.", StringComparison.Ordinal), printed);
        Assert.True(doctor.Output.Contains("curl", StringComparison.Ordinal), printed);
        Assert.True(doctor.Output.Contains("Docker", StringComparison.Ordinal), printed);
        // The test run itself restored every step.
        Assert.True(doctor.Output.Contains("[ok]   the packages of every step are on this machine: no step needs the network", StringComparison.Ordinal), printed);
        // Either all ports are free, or the ones in use are named (the up tests hold some of them at times).
        Assert.True(doctor.Output.Contains("[ok]   ports 8000, 8001, 8002", StringComparison.Ordinal) || doctor.Output.Contains("[FAIL] port ", StringComparison.Ordinal), printed);
        Assert.True(doctor.ExitCode is 0 or 1, printed);
        Assert.True(doctor.Output.Contains(doctor.ExitCode == 0 ? "Ready for the workshop." : "problem(s) to fix", StringComparison.Ordinal), printed);
    }
}

/// <summary>
/// `workshop up` and `workshop check`. They run the steps on free ports, moved there by the variables
/// the compose files take (USERS_PORT ...), so that a step an attendee runs on the documented ports
/// while the tests run is left alone, and the other way round. Only the test of `dotnet run` needs a
/// documented port. The tests of this class run one after another (one class, one collection).
/// </summary>
public sealed class WorkshopUpTests
{
    [Theory]
    [MemberData(nameof(Repo.StepFolders), MemberType = typeof(Repo))]
    public async Task Up_StartsTheStep_PrintsItsAddresses_PassesCheck_AndStopsOnCtrlC(string folder)
    {
        var step = Repo.Step(folder);
        // Infrastructure the README shows running ("runs here, from prometheus") must be installed here.
        foreach (var program in RunItTable(step).Select(l => System.Text.RegularExpressions.Regex.Match(l, @"runs here, from (\S+)$")).Where(m => m.Success))
        {
            Tools.Require($"apt-get install {program.Groups[1].Value}", program.Groups[1].Value);
        }

        var data = Directory.CreateTempSubdirectory("workshop-up-").FullName;
        var ports = FreePorts(step);
        foreach (var (key, value) in LoadedMachine.Environment)
        {
            ports[key] = value;
        }

        await using var up = await UpAsync(step, data, ports);

        // Each service says where it moved to.
        foreach (var app in Workshop.Steps.StepServices.Load(step).Apps)
        {
            Assert.Contains($"{app.Name} runs on port {ports[app.HostPort.Variable!]}, not {app.Port}: {app.HostPort.Variable} is set in the environment", up.Output);
        }

        // The table the README shows under "Run it", on the ports the services moved to.
        var printed = Spaced(up.Output);
        foreach (var line in RunItTable(step))
        {
            Assert.Contains(Spaced(Moved(line, step, ports)), printed);
        }

        // The README's commands, on the same ports: the gateway and users reach the services they call there.
        var check = await WorkshopCommand.RunAsync(ports, "check", step.Folder[..2]);
        Assert.True(check.ExitCode == 0, check.Output + check.Errors);
        Assert.Contains("checks passed.", check.Output);

        await LoadAsync(step, ports);
        await ChaosAsync(step, ports);

        // Reset refuses while the step runs, and removes what the step stored once it is stopped.
        var stored = Workshop.Steps.StepServices.Load(step).Apps.Select(app => Path.Combine(data, app.Name)).Where(Directory.Exists).ToList();
        Assert.NotEmpty(stored); // users' and accounts' databases; the gateway stores nothing
        var refused = await WorkshopCommand.RunAsync(ports, "reset", step.Folder[..2], "--yes");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"workshop: {step.Folder} is running (", refused.Errors);
        Assert.All(stored, folder => Assert.True(Directory.Exists(folder), $"{folder}: {refused.Output}{refused.Errors}"));

        up.Interrupt();
        await AssertStoppedAsync(up, step, ports);
        Assert.Equal(0, up.ExitCode);

        var reset = await WorkshopCommand.RunAsync(ports, "reset", step.Folder[..2], "--yes");
        Assert.True(reset.ExitCode == 0, reset.Output + reset.Errors);
        Assert.All(stored, folder => Assert.False(Directory.Exists(folder), $"{folder}: {reset.Output}"));
        Assert.All(stored, folder => Assert.Contains($"reset: removed {Path.GetRelativePath(step.Directory, folder)}", reset.Output));
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task Up_StopsTheServices_WhenItsTerminalCloses()
    {
        var step = Repo.Steps[0];
        var data = Directory.CreateTempSubdirectory("workshop-up-").FullName;
        var ports = FreePorts(step);
        await using var up = await UpAsync(step, data, ports);

        up.HangUp();
        await AssertStoppedAsync(up, step, ports);
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task Up_StopsStartsAndPausesOneService_WhileTheOthersRunOn()
    {
        // Step 02: users asks accounts for every user it returns, so users' answer shows what accounts is doing.
        var step = Repo.Step("02-connect");
        var data = Directory.CreateTempSubdirectory("workshop-up-").FullName;
        // As the README's "Things to try" starts it to wait less for a hung accounts: the services take the variable.
        var ports = FreePorts(step);
        ports["AccountsClient__Timeout"] = "00:00:01";
        await using var up = await UpAsync(step, data, ports);
        Assert.Contains("While it runs, type a command and Enter:", up.Output);

        using var http = new HttpClient { BaseAddress = new Uri($"http://localhost:{ports["USERS_PORT"]}"), Timeout = TimeSpan.FromSeconds(10) };
        using (var created = await http.PostAsync("/users", new StringContent("""{"name":"Ada","email":"ada@example.com"}""", null, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        await up.TypeAsync("stop accounts");
        await up.WaitForOutputAsync("[ok]   accounts stopped; the other services keep running.", TimeSpan.FromSeconds(20));
        await AssertUserAnswersAsync(http, HttpStatusCode.ServiceUnavailable, "The accounts service could not be reached.");

        await up.TypeAsync("start accounts");
        await AssertUserAnswersAsync(http, HttpStatusCode.OK, "\"accountCount\":0", within: TimeSpan.FromSeconds(60));

        await up.TypeAsync("pause accounts");
        await up.WaitForOutputAsync("[ok]   accounts is paused", TimeSpan.FromSeconds(10));
        await AssertUserAnswersAsync(http, HttpStatusCode.ServiceUnavailable, "The accounts service did not answer within 1 s.");

        await up.TypeAsync("resume accounts");
        await up.WaitForOutputAsync("[ok]   accounts runs again", TimeSpan.FromSeconds(10));
        await AssertUserAnswersAsync(http, HttpStatusCode.OK, "\"accountCount\":0");

        // Killed from outside: workshop says so, and users runs on.
        await up.TypeAsync("status");
        await up.WaitForOutputAsync("  users     running   pid ", TimeSpan.FromSeconds(10));
        var pid = int.Parse(System.Text.RegularExpressions.Regex.Match(up.Output, @"accounts\s+running\s+pid (\d+)").Groups[1].Value);
        System.Diagnostics.Process.GetProcessById(pid).Kill();
        await up.WaitForOutputAsync("[warn] accounts stopped by itself (exit code ", TimeSpan.FromSeconds(10));
        await AssertUserAnswersAsync(http, HttpStatusCode.ServiceUnavailable, "The accounts service could not be reached.");

        await up.TypeAsync("stop payments");
        await up.WaitForOutputAsync("[FAIL] this step has no service 'payments'; it has accounts, users", TimeSpan.FromSeconds(10));

        // Ctrl-C stops a paused service too, and lets it shut down as it should (not killed).
        await up.TypeAsync("pause users");
        await up.WaitForOutputAsync("[ok]   users is paused", TimeSpan.FromSeconds(10));
        up.Interrupt();
        await AssertStoppedAsync(up, step, ports);
        Assert.Contains(up.Output.Split('\n'), line => line.StartsWith("users ", StringComparison.Ordinal) && line.Contains("Application is shutting down"));
        Assert.Equal(0, up.ExitCode);
        Directory.Delete(data, recursive: true);
    }

    /// <summary>
    /// A web proxy set in the environment, as on many company laptops, gets none of a step's calls: not
    /// workshop's own, not the services' calls to each other, not the README's commands that check runs.
    /// Up, check and doctor say how to keep the attendee's own commands away from it too.
    /// </summary>
    [Fact]
    public async Task UpAndCheck_GoAroundAWebProxySetInTheEnvironment_AndSaySo()
    {
        // Step 03: users calls accounts, and the gateway's overview calls both with clients of its own.
        var step = Repo.Step("03-api-gateway");
        await using var proxy = await HealthServer.StartAsync("HTTP/1.1 502 Bad Gateway");
        var data = Directory.CreateTempSubdirectory("workshop-up-").FullName;
        var environment = FreePorts(step);
        environment["http_proxy"] = environment["HTTP_PROXY"] = $"http://127.0.0.1:{proxy.Port}";
        environment["no_proxy"] = environment["NO_PROXY"] = "example.com";
        const string Notice = "[warn] http_proxy is set and NO_PROXY does not list localhost: curl and .NET would send calls to this machine's services to that proxy. "
            + "workshop goes around it for itself and the services it starts; for your own commands, run "
            + "`export no_proxy='example.com,localhost,127.0.0.1,::1' NO_PROXY='example.com,localhost,127.0.0.1,::1'`\n";

        await using var up = await UpAsync(step, data, environment);
        Assert.Contains(Notice, up.Output);

        var check = await WorkshopCommand.RunAsync(environment, "check", step.Folder[..2]);
        Assert.True(check.ExitCode == 0, check.Output + check.Errors);
        Assert.Contains(Notice, check.Output);
        Assert.Contains(Notice, (await WorkshopCommand.RunAsync(environment, "doctor")).Output);
        Assert.Equal(0, proxy.Connections);

        up.Interrupt();
        await AssertStoppedAsync(up, step, environment);
        Directory.Delete(data, recursive: true);
    }

    /// <summary>GET /users/1 gives this status and text, at once or, for a service still starting, within a bound.</summary>
    private static async Task AssertUserAnswersAsync(HttpClient http, HttpStatusCode status, string text, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.Zero);
        while (true)
        {
            using var response = await http.GetAsync("/users/1");
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == status && body.Contains(text, StringComparison.Ordinal))
            {
                return;
            }

            if (DateTime.UtcNow >= deadline)
            {
                Assert.Fail($"GET /users/1 answered {(int)response.StatusCode}: {body}; expected {(int)status} with {text}");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>A free port for each service of the step, under the variable its compose mapping takes: USERS_PORT=41234.</summary>
    private static Dictionary<string, string> FreePorts(Workshop.Steps.Step step) =>
        Workshop.Steps.StepServices.Load(step).Apps.ToDictionary(a => a.HostPort.Variable!, _ => WorkshopFolder.FreePort().ToString());

    /// <summary>"steps 01, 02, 03": the steps that run <paramref name="service"/>, as doctor names them.</summary>
    private static string StepsRunning(string service) =>
        "steps " + string.Join(", ", Repo.Steps.Where(step => Workshop.Steps.StepServices.Load(step).Apps.Any(a => a.Name == service)).Select(step => step.Folder[..2]));

    /// <summary>
    /// `workshop load` on the running step: from step 03 on it sends its mix through the gateway, says
    /// each second how it goes, and reports each kind; the deposits it counts as answered are what
    /// accounts added to the balances (read here from accounts itself). Before step 03 it says which
    /// step brings the gateway.
    /// </summary>
    private static async Task LoadAsync(Workshop.Steps.Step step, Dictionary<string, string> ports)
    {
        var number = step.Folder[..2];
        if (step.Number < 3)
        {
            var refused = await WorkshopCommand.RunAsync(ports, "load", number);
            Assert.Equal(1, refused.ExitCode);
            Assert.Equal($"workshop: {step.Folder} has no gateway to send load through: it comes with 03-api-gateway (`./workshop load 03`)", refused.Errors.Trim());
            return;
        }

        using var accounts = new HttpClient { BaseAddress = new Uri($"http://localhost:{ports["ACCOUNTS_PORT"]}") };
        var before = await TotalBalanceAsync(accounts);

        var load = await WorkshopCommand.RunAsync(ports, "load", number, "rate", "20", "count", "30", "mix", "1:1:1");

        Assert.True(load.ExitCode == 0, load.Output + load.Errors);
        Assert.Contains($"Load on {step.Folder} through the gateway at http://localhost:{ports["GATEWAY_PORT"]}: 20 requests/s for at most 60 s or 30 requests, mix reads 1 : writes 1 : aggregations 1. Ctrl-C ends it early.", load.Output);
        // 30 requests at 20 a second take 1.5 s: one line for the first second.
        Assert.Matches(@"\n +1 s +\d+ answered/s  failed \d+ \([0-9.]+%\)  p50 [0-9.]+ ms  p99 [0-9.]+ ms  sent \d+\n", load.Output);
        Assert.Matches(@"Sent 30 requests in \d+\.\d s \(\d+\.\d/s\): ", load.Output);
        var rows = LoadRows(load.Output);
        Assert.Equal(["read", "write", "aggregation"], rows.Keys);
        Assert.All(rows.Values, row => Assert.Equal(10, row.Sent));
        var deposits = rows["write"].Ok;
        Assert.True(deposits > 0, load.Output);
        Assert.Contains($"[ok]   Deposits: {deposits} answered 2xx, and accounts counted as many: the balances grew by {deposits}.00.", load.Output);
        Assert.Equal(before + 3 * 100m + deposits, await TotalBalanceAsync(accounts));
    }

    /// <summary>The report's table: each kind's requests sent and answered 2xx.</summary>
    private static Dictionary<string, (int Sent, int Ok, int Failed)> LoadRows(string output) =>
        System.Text.RegularExpressions.Regex.Matches(output, @"^  (read|write|aggregation) +(\d+) +(\d+) +(\d+) ", System.Text.RegularExpressions.RegexOptions.Multiline)
            .ToDictionary(m => m.Groups[1].Value, m => (int.Parse(m.Groups[2].Value), int.Parse(m.Groups[3].Value), int.Parse(m.Groups[4].Value)));

    /// <summary>What accounts itself says all its accounts hold.</summary>
    private static async Task<decimal> TotalBalanceAsync(HttpClient accounts)
    {
        using var json = JsonDocument.Parse(await accounts.GetStringAsync("/accounts"));
        return json.RootElement.EnumerateArray().Sum(a => a.GetProperty("balance").GetDecimal());
    }

    /// <summary>
    /// `workshop chaos` on the running step: from step 07 on it turns the fault switch of accounts on
    /// (the instance then fails its requests, and counts them) and off again, saying what it changed;
    /// before step 07 it says which step brings the switch.
    /// </summary>
    private static async Task ChaosAsync(Workshop.Steps.Step step, Dictionary<string, string> ports)
    {
        // On this step's instance alone (--port): a test beside this one may run an accounts instance of
        // its own on a port of the range that `chaos` would otherwise search.
        var number = step.Folder[..2];
        var port = ports["ACCOUNTS_PORT"];
        var on = await WorkshopCommand.RunAsync(ports, "chaos", number, "fail", "1", "slow", "20", "--port", port);
        if (step.Number < 7)
        {
            Assert.Equal(1, on.ExitCode);
            Assert.Equal($"workshop: {step.Folder} has no fault switch: it comes with 07-circuit-breaker (`./workshop chaos 07 ...`)", on.Errors.Trim());
            return;
        }

        Assert.True(on.ExitCode == 0, on.Output + on.Errors);
        Assert.Contains($"[ok]   accounts on port {port}: failure rate 0% -> 100%, latency 0 ms -> 20 ms\n", on.Output + "\n");

        // Load cannot open its accounts while every request to accounts fails, and says so.
        var refused = await WorkshopCommand.RunAsync(ports, "load", number, "count", "5");
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal($"workshop: could not prepare the load: POST /api/accounts failed 20 times, the last with 500 Injected fault (a fault switch on? `./workshop chaos {number} off`)", refused.Errors.Trim());
        Assert.Contains($"Faults on in 1 of 1 accounts instances: callers meet them through the gateway; `./workshop chaos {number} off` turns them off.", on.Output);

        using var http = new HttpClient { BaseAddress = new Uri($"http://localhost:{port}") };
        using (var failed = await http.GetAsync("/accounts/1"))
        {
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
            Assert.Contains("Injected fault", await failed.Content.ReadAsStringAsync());
        }

        // Shown, with every instance found on accounts' ports (reading changes nothing).
        var shown = await WorkshopCommand.RunAsync(ports, "chaos", number);
        // The failed request above is counted (with any other caller's since), among those the README's check made before.
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(shown.Output + "\n", $@"accounts on port {port}: 100% of requests fail, 20 ms added to each; [1-9][0-9]* of [1-9][0-9]* requests failed on purpose so far\n"), shown.Output);

        // One setting changed, the other kept; then off.
        var slower = await WorkshopCommand.RunAsync(ports, "chaos", number, "slow", "30", "--port", port);
        Assert.Contains($"[ok]   accounts on port {port}: failure rate 100% (as before), latency 20 ms -> 30 ms", slower.Output);
        var off = await WorkshopCommand.RunAsync(ports, "chaos", number, "off", "--port", port);
        Assert.True(off.ExitCode == 0, off.Output + off.Errors);
        Assert.Contains($"[ok]   accounts on port {port}: failure rate 100% -> 0%, latency 30 ms -> 0 ms", off.Output);
        Assert.Contains($"No faults: every accounts instance of {step.Folder} answers normally.", off.Output);
        using (var answered = await http.GetAsync("/accounts/1"))
        {
            Assert.NotEqual(HttpStatusCode.InternalServerError, answered.StatusCode);
        }

        // Load while half of accounts' requests fail: the failures show in load's report, and the deposits
        // it counts as answered are still exactly what accounts added.
        var before = await TotalBalanceAsync(http);
        await WorkshopCommand.RunAsync(ports, "chaos", number, "fail", "0.5", "--port", port);
        var load = await WorkshopCommand.RunAsync(ports, "load", number, "rate", "50", "count", "40", "mix", "0:1:0");
        await WorkshopCommand.RunAsync(ports, "chaos", number, "off", "--port", port);
        Assert.True(load.ExitCode == 0, load.Output + load.Errors);
        var writes = LoadRows(load.Output)["write"];
        Assert.Equal(40, writes.Sent);
        Assert.True(writes.Failed > 0 && writes.Ok > 0, load.Output);
        Assert.Contains($"Failures by answer: 500 x{writes.Failed}", load.Output);
        Assert.Contains($"[ok]   Deposits: {writes.Ok} answered 2xx, and accounts counted as many", load.Output);
        Assert.Equal(before + 3 * 100m + writes.Ok, await TotalBalanceAsync(http));
    }

    /// <summary>The README's line with each documented port replaced by the one its service moved to.</summary>
    private static string Moved(string line, Workshop.Steps.Step step, Dictionary<string, string> ports) =>
        Workshop.Steps.StepServices.Load(step).Apps.Aggregate(line, (moved, app) => moved.Replace($"localhost:{app.Port}", $"localhost:{ports[app.HostPort.Variable!]}", StringComparison.Ordinal));

    /// <summary>Runs of spaces made one: a table's columns shift when a port has five digits.</summary>
    private static string Spaced(string text) => System.Text.RegularExpressions.Regex.Replace(text, " {2,}", " ");

    /// <summary>`workshop up NN --fresh` with its databases in <paramref name="data"/>, once it has said all it says on starting.</summary>
    /// <remarks>
    /// A port picked free for this test can be taken by a test running beside it before workshop binds
    /// it; workshop then refuses to start. Then the ports are picked again, in <paramref name="environment"/>
    /// itself, which the caller reads them from afterwards.
    /// </remarks>
    private static async Task<WorkshopCommand> UpAsync(Workshop.Steps.Step step, string data, Dictionary<string, string> environment)
    {
        environment["WORKSHOP_DATA_DIR"] = data;
        for (var attempt = 1; ; attempt++)
        {
            var up = WorkshopCommand.Start(environment, "up", step.Folder[..2], "--fresh");
            try
            {
                // The last line it prints once every service is up (the table and the commands come before it).
                // A bound, not a speed: the build, then each program in turn (RabbitMQ's boot alone took
                // 40 s beside two compose runs on two cores).
                await up.WaitForOutputAsync("(Ctrl-C stops every service)", TimeSpan.FromMinutes(5));
                return up;
            }
            catch when (attempt < 3 && up.Errors.Contains("is already in use", StringComparison.Ordinal))
            {
                await up.DisposeAsync();
                foreach (var (variable, port) in FreePorts(step))
                {
                    environment[variable] = port;
                }
            }
            catch
            {
                await up.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>workshop has ended, said so, and none of the step's services answers any more.</summary>
    private static async Task AssertStoppedAsync(WorkshopCommand up, Workshop.Steps.Step step, Dictionary<string, string> ports)
    {
        await up.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains($"Stopped {step.Folder}.", up.Output);
        using var http = new HttpClient();
        foreach (var app in Workshop.Steps.StepServices.Load(step).Apps)
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync($"http://localhost:{ports[app.HostPort.Variable!]}/health"));
        }
    }

    [Fact]
    public async Task Up_RefusesWithOneLine_WhenAPortIsTaken_AndSaysHowToMoveTheService()
    {
        using var holder = new HeldPort();
        var port = holder.Port;

        var moved = FreePorts(Repo.Steps[0]);
        moved["USERS_PORT"] = port.ToString();
        var up = await WorkshopCommand.RunAsync(moved, "up", Repo.Steps[0].Folder[..2]);

        Assert.Equal(1, up.ExitCode);
        var line = Assert.Single(up.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var refused = System.Text.RegularExpressions.Regex.Match(line,
            $@"^workshop: port {port} \(users\) is already in use: stop what holds it \(find it with `lsof -i :{port}`\), or run users on another port: set USERS_PORT=(?<suggested>\d+) in the environment$");
        Assert.True(refused.Success, line);
        // A port that was free when workshop looked.
        Assert.NotEqual(port, int.Parse(refused.Groups["suggested"].Value));

        var doctor = await WorkshopCommand.RunAsync(moved, "doctor");
        Assert.Matches(
            $@"\[FAIL\] port {port} \(users, {StepsRunning("users")}, from USERS_PORT in the environment\) is in use: stop what holds it \(find it with `lsof -i :{port}`\), or run users on another port: set USERS_PORT=\d+ in the environment\n",
            doctor.Output);
    }

    [Fact]
    public async Task UpAndDoctor_SayAStepIsStillRunning_WhenAServiceAnswersOnAPortItNeeds()
    {
        await using var running = await HealthServer.StartAsync("HTTP/1.1 200 OK");
        var moved = FreePorts(Repo.Steps[0]);
        moved["ACCOUNTS_PORT"] = running.Port.ToString();

        var up = await WorkshopCommand.RunAsync(moved, "up", Repo.Steps[0].Folder[..2]);

        Assert.Equal(1, up.ExitCode);
        Assert.Contains($"workshop: port {running.Port} (accounts) is already in use: a service answers /health there, so a workshop step is probably still running: press Ctrl-C in its terminal", up.Errors);

        var doctor = await WorkshopCommand.RunAsync(moved, "doctor");
        Assert.Contains($"[FAIL] port {running.Port} (accounts, {StepsRunning("accounts")}, from ACCOUNTS_PORT in the environment) is in use: a service answers /health there, so a workshop step is probably still running", doctor.Output);
    }

    /// <summary>
    /// The step's .env file moves a port for `workshop up` as it does for docker compose, and the
    /// environment comes before it. Both are seen in which port up finds taken, before it builds anything.
    /// </summary>
    [Fact]
    public async Task Up_TakesThePortsFromTheStepsEnvFile_AndFromTheEnvironmentFirst()
    {
        using var first = new HeldPort();
        using var second = new HeldPort();
        var (inFile, inEnvironment) = (first.Port, second.Port);
        using var folder = WorkshopFolder.Create("moved", new Dictionary<string, string>
        {
            ["docker-compose.yml"] = "services:\n  users:\n    build:\n      context: ..\n      dockerfile: 01-moved/src/Users/Dockerfile\n    ports:\n      - \"${USERS_PORT:-8001}:8080\"\n",
            [".env"] = $"# ports for this machine\nGATEWAY_PORT=9000\nUSERS_PORT=\"{inFile}\"  \n",
        });

        var fromFile = await WorkshopCommand.RunAsync(new Dictionary<string, string> { ["WORKSHOP_ROOT"] = folder.Root }, "up", "01");
        var fromEnvironment = await WorkshopCommand.RunAsync(new Dictionary<string, string> { ["WORKSHOP_ROOT"] = folder.Root, ["USERS_PORT"] = inEnvironment.ToString() }, "up", "01");

        Assert.Contains($"users runs on port {inFile}, not 8001: USERS_PORT is set in 01-moved/.env", fromFile.Output);
        // Where the port was moved is where to move it again: the environment comes before the .env.
        Assert.Matches(
            $@"workshop: port {inFile} \(users\) is already in use: .*, or run users on another port: put USERS_PORT=\d+ in 01-moved/\.env \(docker compose reads that file too\), or set it in the environment for every step$",
            fromFile.Errors.Trim());
        Assert.Contains($"users runs on port {inEnvironment}, not 8001: USERS_PORT is set in the environment", fromEnvironment.Output);
        Assert.Matches($@"workshop: port {inEnvironment} \(users\) is already in use: .*, or run users on another port: set USERS_PORT=\d+ in the environment$", fromEnvironment.Errors.Trim());
    }

    /// <summary>
    /// Doctor checks each step's services on the ports that step runs them on: a port moved in a step's
    /// .env is that step's alone, one moved in the environment every step's; a documented port that
    /// no step uses any more is not a problem, and a taken one says where to move its service.
    /// </summary>
    [Fact]
    public async Task Doctor_ChecksThePortsEachStepRunsOn_MovedInItsEnvFileOrInTheEnvironment()
    {
        using var documentedHolder = new HeldPort();
        using var movedToHolder = new HeldPort();
        var (documented, movedTo) = (documentedHolder.Port, movedToHolder.Port);
        var (free, freeForAll) = (WorkshopFolder.FreePort(), WorkshopFolder.FreePort());
        var compose = $"services:\n  users:\n    build:\n      context: .\n    ports:\n      - \"${{USERS_PORT:-{documented}}}:8080\"\n";
        using var folder = WorkshopFolder.Create("moved", new Dictionary<string, string>
        {
            ["docker-compose.yml"] = compose,
            [".env"] = $"USERS_PORT={free}\n",
        });
        var second = Path.Combine(folder.Root, "02-other");
        Directory.CreateDirectory(second);
        File.WriteAllText(Path.Combine(second, "Workshop.slnx"), "<Solution />");
        File.WriteAllText(Path.Combine(second, "docker-compose.yml"), compose);
        var environment = new Dictionary<string, string> { ["WORKSHOP_ROOT"] = folder.Root };

        var doctor = (await WorkshopCommand.RunAsync(environment, "doctor")).Output;

        Assert.Contains($"[ok]   users runs on port {free}, not {documented}, in step 01: USERS_PORT is set in 01-moved/.env\n", doctor);
        Assert.Matches(
            $@"\[FAIL\] port {documented} \(users, step 02\) is in use: stop what holds it \(find it with `lsof -i :{documented}`\), or run users on another port: put USERS_PORT=\d+ in 02-other/\.env \(docker compose reads that file too\), or set it in the environment for every step\n",
            doctor);

        // Step 02 moved too, to a port that is taken: nothing needs the documented port any more.
        File.WriteAllText(Path.Combine(second, ".env"), $"USERS_PORT={movedTo}\n");
        doctor = (await WorkshopCommand.RunAsync(environment, "doctor")).Output;

        Assert.Matches(
            $@"\[FAIL\] port {movedTo} \(users, step 02, from USERS_PORT in 02-other/\.env\) is in use: stop what holds it \(find it with `lsof -i :{movedTo}`\), or run users on another port: put USERS_PORT=\d+ in 02-other/\.env \(docker compose reads that file too\), or set it in the environment for every step\n",
            doctor);
        Assert.DoesNotContain($"port {documented}", doctor);

        // The environment comes before every step's .env.
        environment["USERS_PORT"] = freeForAll.ToString();
        doctor = (await WorkshopCommand.RunAsync(environment, "doctor")).Output;

        Assert.Contains($"[ok]   users runs on port {freeForAll}, not {documented}, in steps 01, 02: USERS_PORT is set in the environment\n", doctor);
        Assert.DoesNotContain($"port {documented}", doctor);
        Assert.DoesNotContain($"port {movedTo}", doctor);
    }

    [Theory]
    [InlineData("eighty", "workshop: USERS_PORT=eighty (in the environment) is not a port: users needs a number from 1 to 65535")]
    [InlineData("70000", "workshop: USERS_PORT=70000 (in the environment) is not a port: users needs a number from 1 to 65535")]
    [InlineData("8002", "workshop: users and accounts would both run on port 8002 (USERS_PORT, ACCOUNTS_PORT): give each service a port of its own")]
    public async Task UpCheckAndDoctor_RefuseAPortVariableThatIsNoPort_OrThatTwoServicesWouldShare(string value, string error)
    {
        foreach (var command in new[] { "up 01", "check 01", "doctor" })
        {
            var run = await WorkshopCommand.RunAsync(new Dictionary<string, string> { ["USERS_PORT"] = value }, command.Split(' '));

            Assert.Equal(1, run.ExitCode);
            Assert.Equal(error, Assert.Single(run.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        }
    }

    /// <summary>
    /// A service that refuses its settings ends at start with an exception nothing caught, and its log
    /// holds the stack trace. The last line names the exception and its message: first the README's
    /// "remove them all and the gateway will not start"; then an address without its scheme, which
    /// YARP reports in an exception whose own message says only that its configuration did not load.
    /// </summary>
    [Theory]
    [InlineData("ApiKey__Keys__0", "",
        "OptionsValidationException: ApiKey:Keys must hold at least one key (ApiKey__Keys__0=...)")]
    [InlineData("ReverseProxy__Clusters__users__Destinations__primary__Address", "localhost:8001",
        "InvalidOperationException: Unable to load or apply the proxy configuration; caused by InvalidOperationException: ReverseProxy:Clusters:users:Destinations:primary:Address is 'localhost:8001', not an http:// or https:// address such as http://localhost:8001/")]
    public async Task Up_EndsWithWhyAServiceDidNotStart_WhenItRefusesItsSettings(string key, string value, string why)
    {
        var step = Repo.Step("03-api-gateway");
        var data = Directory.CreateTempSubdirectory("workshop-up-").FullName;
        var environment = FreePorts(step);
        environment["WORKSHOP_DATA_DIR"] = data;
        environment[key] = value;

        var up = await WorkshopCommand.RunAsync(environment, "up", step.Folder[..2], "--fresh");

        Assert.Equal(1, up.ExitCode);
        var line = Assert.Single(up.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches(@"^workshop: gateway exited while starting \(exit code \d+: ", line);
        Assert.True(line.EndsWith($": {why}; its log is above)", StringComparison.Ordinal), line);
        Assert.Contains($"Stopped {step.Folder}.", up.Output);
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task Up_ShowsTheCompilerErrors_AndEndsWithOneLine_WhenTheBuildFails()
    {
        // A workshop folder of one step whose service does not compile.
        using var folder = WorkshopFolder.Create("broken", new Dictionary<string, string>
        {
            ["docker-compose.yml"] = "services:\n  users:\n    build:\n      context: ..\n      dockerfile: 01-broken/src/Users/Dockerfile\n    ports:\n      - \"${USERS_PORT:-8001}:8080\"\n",
            ["src/Users/Users.csproj"] = "<Project Sdk=\"Microsoft.NET.Sdk.Web\"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup></Project>",
            ["src/Users/Program.cs"] = "this is not C#",
        });

        var up = await WorkshopCommand.RunAsync(new Dictionary<string, string> { ["WORKSHOP_ROOT"] = folder.Root, ["USERS_PORT"] = WorkshopFolder.FreePort().ToString() }, "up", "01");

        Assert.Equal(1, up.ExitCode);
        var errors = up.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(errors, line => line.Contains("Program.cs", StringComparison.Ordinal) && line.Contains("error CS", StringComparison.Ordinal));
        Assert.Equal("workshop: the build of users failed (src/Users/Users.csproj)", errors[^1]);
        Assert.DoesNotContain("   at ", up.Errors);
    }

    /// <summary>
    /// A step's first build downloads its packages. In a room whose network is down or swamped, NuGet
    /// cannot reach its source (NU1301); the last line says so and what to do, not only "failed".
    /// </summary>
    [Fact]
    public async Task Up_SaysTheFirstBuildNeedsTheNetwork_WhenNuGetCannotReachItsSource()
    {
        using var folder = WorkshopFolder.Create("offline", new Dictionary<string, string>
        {
            ["docker-compose.yml"] = "services:\n  users:\n    build:\n      context: ..\n      dockerfile: 01-offline/src/Users/Dockerfile\n    ports:\n      - \"${USERS_PORT:-8001}:8080\"\n",
            ["src/Users/Users.csproj"] = UnrestorableProject,
            ["src/Users/Program.cs"] = "WebApplication.Create(args).Run();",
        });

        var up = await WorkshopCommand.RunAsync(UnreachablePackageSource(folder), "up", "01");

        Assert.Equal(1, up.ExitCode);
        var errors = up.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(errors, line => line.Contains("error NU1301", StringComparison.Ordinal));
        Assert.Equal(
            "workshop: the build of users failed (src/Users/Users.csproj): NuGet could not reach its package source. "
                + "A step's first build downloads its packages: run it once on a working network (README.md, Prerequisites: before the workshop)",
            errors[^1]);
    }

    /// <summary>The same for the workshop command's own first build, which ./workshop does before anything else.</summary>
    [Fact]
    public async Task WorkshopScript_SaysItsFirstBuildNeedsTheNetwork_WhenNuGetCannotReachItsSource()
    {
        using var folder = WorkshopFolder.Create("offline", new Dictionary<string, string>());
        var script = Path.Combine(folder.Root, "workshop");
        File.Copy(Path.Combine(Repo.Root, "workshop"), script);
        File.WriteAllText(Path.Combine(folder.Root, "tools", "Workshop", "Workshop.csproj"), UnrestorableProject);

        var run = await Shell.RunAsync("bash", [script, "list"], TimeSpan.FromMinutes(3), folder.Root, UnreachablePackageSource(folder));

        // On failure, all it printed: the build's own errors come before the last line.
        var printed = $"exit code {run.ExitCode}\nstderr:\n{run.Errors}";
        Assert.True(run.ExitCode == 1, printed);
        Assert.True(
            run.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1] == "workshop: could not build tools/Workshop: NuGet could not reach its package source. "
                + "The first build downloads its packages: run it once on a working network (README.md, Prerequisites: before the workshop)",
            printed);
    }

    /// <summary>A project with a package that no machine has yet, so restoring it needs the package source.</summary>
    private const string UnrestorableProject = """
        <Project Sdk="Microsoft.NET.Sdk.Web">
          <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
          <ItemGroup><PackageReference Include="Workshop.Tests.NotOnAnyMachine" Version="1.0.0" /></ItemGroup>
        </Project>
        """;

    /// <summary>NuGet's source moved to a port nothing listens on: the network of a room where nothing gets through.</summary>
    private static Dictionary<string, string> UnreachablePackageSource(WorkshopFolder folder) => new()
    {
        ["WORKSHOP_ROOT"] = folder.Root,
        ["RestoreSources"] = $"https://127.0.0.1:{WorkshopFolder.FreePort()}/v3/index.json",
        ["USERS_PORT"] = WorkshopFolder.FreePort().ToString(),
    };

    /// <summary>
    /// The READMEs' other way to start a service: `dotnet run --project NN-step/src/Users`, on the
    /// documented port its launch settings give. Where an attendee's step holds that port while the
    /// tests run, the service's refusal to bind it shows the same.
    /// </summary>
    [Fact]
    public async Task DotnetRun_StartsAServiceOnItsDocumentedPort()
    {
        var data = Directory.CreateTempSubdirectory("workshop-run-").FullName;
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { WorkingDirectory = Repo.Root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "run", "--project", Path.Combine(Repo.Steps[0].Folder, "src", "Users") })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["Database__Path"] = Path.Combine(data, "users.db");
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            using var http = new HttpClient();
            var deadline = DateTime.UtcNow.AddMinutes(2);
            HttpResponseMessage? health = null;
            while (health is null && DateTime.UtcNow < deadline && !process.HasExited)
            {
                try
                {
                    health = await http.GetAsync("http://localhost:8001/health");
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(250);
                }
            }

            if (health is null && process.HasExited)
            {
                var printed = await output + await errors;
                Assert.Contains("Failed to bind to address http://", printed);
                Assert.Contains(":8001: address already in use", printed);
                return;
            }

            Assert.NotNull(health);
            Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync();
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>
    /// The command it suggests is the one the attendee types: ./workshop, or what the Windows launchers
    /// (workshop.cmd, workshop.ps1) put in WORKSHOP_COMMAND.
    /// </summary>
    [Theory]
    [InlineData(null, "./workshop")]
    [InlineData("workshop.cmd", "workshop.cmd")]
    public async Task Check_SaysTheStepIsNotRunning_WhenItIsNot_InTheWordsOfTheLauncher(string? launcher, string command)
    {
        var environment = FreePorts(Repo.Steps[0]);
        if (launcher is not null)
        {
            environment["WORKSHOP_COMMAND"] = launcher;
        }

        var check = await WorkshopCommand.RunAsync(environment, "check", Repo.Steps[0].Folder[..2]);
        Assert.Equal(1, check.ExitCode);
        Assert.Contains($"not running: start the step first with `{command} up {Repo.Steps[0].Folder[..2]} --fresh`", check.Errors);
    }

    /// <summary>The lines of the fenced block right after `./workshop up NN` in the README's "Run it".</summary>
    public static IEnumerable<string> RunItTable(Workshop.Steps.Step step)
    {
        var lines = File.ReadAllLines(step.ReadmePath);
        var command = Array.FindIndex(lines, l => l.Trim() == $"./workshop up {step.Folder[..2]}");
        Assert.True(command > 0, "the README shows how to start the step with ./workshop up");
        var open = Array.FindIndex(lines, command + 2, l => l.TrimStart().StartsWith("```text", StringComparison.Ordinal));
        var close = Array.FindIndex(lines, open + 1, l => l.Trim() == "```");
        return lines[(open + 1)..close].Where(l => l.Trim().Length > 0).Select(l => l.TrimEnd());
    }
}
