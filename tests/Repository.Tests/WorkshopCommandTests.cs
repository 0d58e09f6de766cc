using System.Net;
using System.Net.Sockets;

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
    [InlineData("diff 01", "wrong arguments for 'diff'")]
    [InlineData("up 01 --fast", "unknown option '--fast'")]
    [InlineData("launch", "unknown command 'launch'")]
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
    public async Task Help_ListsEveryCommand()
    {
        var help = await WorkshopCommand.RunAsync("help");

        Assert.Equal(0, help.ExitCode);
        foreach (var command in new[] { "list", "up NN", "check NN", "diff NN MM", "doctor" })
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

    [Fact]
    public async Task Doctor_ChecksSdkCurlDockerAndPorts()
    {
        var doctor = await WorkshopCommand.RunAsync("doctor");

        Assert.Contains("[ok]   .NET SDK 10.", doctor.Output);
        Assert.Contains("curl", doctor.Output);
        Assert.Contains("Docker", doctor.Output);
        Assert.Contains("8001", doctor.Output);
        Assert.True(doctor.ExitCode is 0 or 1);
        Assert.Contains(doctor.ExitCode == 0 ? "Ready for the workshop." : "problem(s) to fix", doctor.Output);
    }
}

/// <summary>
/// `workshop up` on the documented ports. The tests of this class run one after another (one class,
/// one collection), and no other test uses these ports: the step tests pick free ports.
/// </summary>
public sealed class WorkshopUpTests
{
    [Theory]
    [MemberData(nameof(Repo.StepFolders), MemberType = typeof(Repo))]
    public async Task Up_StartsTheStep_PrintsItsAddresses_PassesCheck_AndStopsOnCtrlC(string folder)
    {
        var step = Repo.Step(folder);
        var data = Directory.CreateTempSubdirectory("workshop-up-").FullName;
        await using var up = await UpAsync(step, data);

        // The table the README shows under "Run it".
        foreach (var line in RunItTable(step))
        {
            Assert.Contains(line, up.Output);
        }

        var check = await WorkshopCommand.RunAsync("check", step.Folder[..2]);
        Assert.True(check.ExitCode == 0, check.Output + check.Errors);
        Assert.Contains("checks passed.", check.Output);

        up.Interrupt();
        await AssertStoppedAsync(up, step);
        Assert.Equal(0, up.ExitCode);
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task Up_StopsTheServices_WhenItsTerminalCloses()
    {
        var step = Repo.Steps[0];
        var data = Directory.CreateTempSubdirectory("workshop-up-").FullName;
        await using var up = await UpAsync(step, data);

        up.HangUp();
        await AssertStoppedAsync(up, step);
        Directory.Delete(data, recursive: true);
    }

    /// <summary>`workshop up NN --fresh` with its databases in <paramref name="data"/>, once it says it is running.</summary>
    private static async Task<WorkshopCommand> UpAsync(Workshop.Steps.Step step, string data)
    {
        var up = WorkshopCommand.Start(new Dictionary<string, string> { ["WORKSHOP_DATA_DIR"] = data }, "up", step.Folder[..2], "--fresh");
        try
        {
            await up.WaitForOutputAsync("Press Ctrl-C to stop.", TimeSpan.FromMinutes(3));
            return up;
        }
        catch
        {
            await up.DisposeAsync();
            throw;
        }
    }

    /// <summary>workshop has ended, said so, and none of the step's services answers any more.</summary>
    private static async Task AssertStoppedAsync(WorkshopCommand up, Workshop.Steps.Step step)
    {
        await up.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains($"Stopped {step.Folder}.", up.Output);
        using var http = new HttpClient();
        foreach (var app in Workshop.Steps.StepServices.Load(step).Apps)
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync($"{app.Url}/health"));
        }
    }

    [Fact]
    public async Task Up_RefusesWithOneLine_WhenAPortIsTaken()
    {
        var listener = new TcpListener(IPAddress.Loopback, 8001);
        listener.Start();
        try
        {
            var up = await WorkshopCommand.RunAsync("up", Repo.Steps[0].Folder[..2]);
            Assert.Equal(1, up.ExitCode);
            Assert.Contains("workshop: port 8001 (users) is already in use", up.Errors);
        }
        finally
        {
            listener.Stop();
        }
    }

    [Fact]
    public async Task Up_ShowsTheCompilerErrors_AndEndsWithOneLine_WhenTheBuildFails()
    {
        // A workshop folder of one step whose service does not compile.
        var root = Directory.CreateTempSubdirectory("workshop-broken-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "tools", "Workshop"));
            File.WriteAllText(Path.Combine(root, "Directory.Packages.props"), "<Project />");
            File.WriteAllText(Path.Combine(root, "Directory.Build.props"), "<Project />");
            var step = Path.Combine(root, "01-broken");
            var project = Path.Combine(step, "src", "Users");
            Directory.CreateDirectory(project);
            File.WriteAllText(Path.Combine(step, "Workshop.slnx"), "<Solution />");
            File.WriteAllText(Path.Combine(step, "README.md"), "# Step 01: Broken\n");
            File.WriteAllText(Path.Combine(step, "docker-compose.yml"), "services:\n  users:\n    build:\n      context: ..\n      dockerfile: 01-broken/src/Users/Dockerfile\n    ports:\n      - \"${USERS_PORT:-8001}:8080\"\n");
            File.WriteAllText(Path.Combine(project, "Users.csproj"), "<Project Sdk=\"Microsoft.NET.Sdk.Web\"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup></Project>");
            File.WriteAllText(Path.Combine(project, "Program.cs"), "this is not C#");

            var up = WorkshopCommand.Start(new Dictionary<string, string> { ["WORKSHOP_ROOT"] = root }, "up", "01");
            await up.WaitForExitAsync(TimeSpan.FromMinutes(3));

            Assert.Equal(1, up.ExitCode);
            var errors = up.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains(errors, line => line.Contains("Program.cs", StringComparison.Ordinal) && line.Contains("error CS", StringComparison.Ordinal));
            Assert.Equal("workshop: the build of users failed (src/Users/Users.csproj)", errors[^1]);
            Assert.DoesNotContain("   at ", up.Errors);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>The READMEs' other way to start a service: `dotnet run --project NN-step/src/Users`.</summary>
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

            Assert.NotNull(health);
            Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task Check_SaysTheStepIsNotRunning_WhenItIsNot()
    {
        var check = await WorkshopCommand.RunAsync("check", Repo.Steps[0].Folder[..2]);
        Assert.Equal(1, check.ExitCode);
        Assert.Contains("not running: start the step first", check.Errors);
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
