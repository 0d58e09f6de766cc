using Workshop.Steps;
using Workshop.Testing;

namespace Repository.Tests;

/// <summary>
/// x-workshop <c>run:</c> with the variables a shell would set before the program
/// (<c>RABBITMQ_NODENAME=workshop@localhost rabbitmq-server</c>), and <c>look-in:</c>, the folders
/// searched for the program before the PATH. The steps are made up, one per test, except step 10's
/// RabbitMQ, whose command is checked as workshop up would run it (not started: its ports are fixed).
/// </summary>
public sealed class InfraRunLineTests
{
    [Fact]
    public void TheVariablesBeforeTheProgram_AreItsEnvironment_AsTheyAreWritten()
    {
        using var folder = new TempDirectory();
        var program = Executable(folder, "bin/broker");
        var step = MadeUpStep(folder, """
            run: A=1 PATH_LIKE=data/broker/x EMPTY= QUOTED="two words" A=2 broker --flag=B=3 C=4
            look-in: [bin]
            """);

        var command = InfraCommand(step);

        Assert.Equal(program, command.Program);
        // A later NAME=value is an argument, as in a shell; named twice, the last one counts.
        Assert.Equal(["--flag=B=3", "C=4"], command.Arguments);
        Assert.Equal(
            new Dictionary<string, string> { ["A"] = "2", ["PATH_LIKE"] = "data/broker/x", ["EMPTY"] = "", ["QUOTED"] = "two words" },
            command.Environment);
        // Relative paths stay relative: the program runs in the step folder.
        Assert.Equal(folder.Path, command.WorkingDirectory);
        Assert.Equal("broker", StepServices.Load(step).Infra.Single().Program);
    }

    [Fact]
    public void ARunLineWithoutVariables_SetsNone()
    {
        using var folder = new TempDirectory();
        Executable(folder, "bin/broker");

        var command = InfraCommand(MadeUpStep(folder, "run: broker --x\nlook-in: [bin]"));

        Assert.Empty(command.Environment);
        Assert.Equal(["--x"], command.Arguments);
    }

    [Fact]
    public void LookIn_IsSearchedBeforeThePath_AndWhereItLacksTheProgram_ThePathIsStill()
    {
        using var folder = new TempDirectory();
        var own = Executable(folder, "own/sh");
        // Not executable: passed over, as a shell passes it over.
        Directory.CreateDirectory(folder.File("plain"));
        File.WriteAllText(folder.File("plain/sh"), "");

        // Relative to the step folder, or absolute.
        Assert.Equal(own, InfraCommand(MadeUpStep(folder, "run: sh -c true\nlook-in: [plain, own]")).Program);
        Assert.Equal(own, InfraCommand(MadeUpStep(folder, $"run: sh -c true\nlook-in: [{folder.File("own")}]")).Program);
        var onPath = InfraCommand(MadeUpStep(folder, "run: sh -c true\nlook-in: [plain, no-such-folder]")).Program;
        Assert.NotEqual(own, onPath);
        Assert.Equal("sh", Path.GetFileName(onPath));
    }

    [Fact]
    public void AProgramInNoLookInFolder_NorOnThePath_IsNotInstalled()
    {
        using var folder = new TempDirectory();
        Directory.CreateDirectory(folder.File("bin"));
        var step = MadeUpStep(folder, "run: NAME=x workshop-test-no-such-program\nlook-in: [bin]");

        Assert.Null(LocalCommand.ForInfra(StepServices.Load(step).Infra.Single(), step));
    }

    [Theory]
    [InlineData("run: RABBITMQ_NODENAME=workshop@localhost", "the x-workshop run line of broker cannot be read: it sets RABBITMQ_NODENAME but names no program")]
    [InlineData("run: A=1 B=2", "the x-workshop run line of broker cannot be read: it sets A, B but names no program")]
    [InlineData("run: 1A=x broker", "the x-workshop run line of broker cannot be read: 1A=x sets no variable: a name is letters, digits and _, not starting with a digit")]
    [InlineData("run: RABBITMQ-NODENAME=x broker", "the x-workshop run line of broker cannot be read: RABBITMQ-NODENAME=x sets no variable: a name is letters, digits and _, not starting with a digit")]
    [InlineData("run: =x broker", "the x-workshop run line of broker cannot be read: =x sets no variable: a name is letters, digits and _, not starting with a digit")]
    [InlineData("run: A='x broker", "the x-workshop run line of broker cannot be read: unterminated single quote")]
    [InlineData("run: broker\nlook-in: /usr/lib/rabbitmq/bin", "the x-workshop look-in of broker is not a list of folders: write it as [/usr/lib/rabbitmq/bin]")]
    public void AMalformedLine_IsRefusedWithOneLine_NamingTheServiceAndWhy(string lines, string error)
    {
        using var folder = new TempDirectory();

        var refused = Assert.Throws<UserError>(() => StepServices.Load(MadeUpStep(folder, lines)));

        Assert.Equal("10-made-up/docker-compose.yml: " + error, refused.Message);
    }

    /// <summary>Step 10's RabbitMQ, as its compose file describes it: its own node, everything it writes under the step's data/rabbitmq.</summary>
    [Fact]
    public void Step10sRabbitMq_RunsItsOwnNode_WithEverythingItWritesInTheStepsDataFolder()
    {
        var rabbitmq = StepServices.Load(Repo.Step("10-cqrs-reporting")).Infra.Single(s => s.Name == "rabbitmq");

        Assert.Equal("rabbitmq-server", rabbitmq.Program);
        Assert.Equal(["rabbitmq-server"], rabbitmq.Run);
        Assert.Equal(["/usr/lib/rabbitmq/bin"], rabbitmq.LookIn);
        Assert.Equal(5672, rabbitmq.Port);
        Assert.Equal("http://localhost:15672/", rabbitmq.Ready);
        Assert.Equal("http://localhost:15672", rabbitmq.Url);
        var environment = rabbitmq.Environment!;
        Assert.Equal("workshop@localhost", environment["RABBITMQ_NODENAME"]);
        Assert.Equal("rabbitmq_management", environment["RABBITMQ_ENABLED_PLUGINS"]);
        Assert.Equal("data/rabbitmq/mnesia", environment["RABBITMQ_MNESIA_BASE"]);
        Assert.Equal("data/rabbitmq/log", environment["RABBITMQ_LOG_BASE"]);
        // Each path it is given is relative to the step folder and inside data/rabbitmq, which --fresh
        // removes: the plugin list it writes too, which would otherwise go to /etc/rabbitmq.
        Assert.All(
            environment.Where(variable => variable.Value.Contains('/', StringComparison.Ordinal)),
            variable => Assert.StartsWith("data/rabbitmq/", variable.Value, StringComparison.Ordinal));
        Assert.Equal("data/rabbitmq/enabled_plugins", environment["RABBITMQ_ENABLED_PLUGINS_FILE"]);
    }

    /// <summary>
    /// Debian's /usr/sbin/rabbitmq-server, on the PATH, is a wrapper that runs the broker as the
    /// rabbitmq user in /var/lib/rabbitmq, without the run line's variables: look-in finds the script it calls.
    /// </summary>
    [Fact]
    public void Step10sRabbitMq_RunsTheStartScriptDebiansWrapperCalls_WithTheRunLinesVariables()
    {
        Tools.Require("apt-get install rabbitmq-server", "rabbitmq-server");
        const string Script = "/usr/lib/rabbitmq/bin/rabbitmq-server";
        if (!File.Exists(Script))
        {
            Assert.Skip($"rabbitmq-server is not installed from Debian's or Ubuntu's package ({Script})");
            return;
        }

        var step = Repo.Step("10-cqrs-reporting");
        var command = LocalCommand.ForInfra(StepServices.Load(step).Infra.Single(s => s.Name == "rabbitmq"), step)!;

        Assert.Equal(Script, command.Program);
        Assert.Empty(command.Arguments);
        Assert.Equal(step.Directory, command.WorkingDirectory);
        Assert.Equal("workshop@localhost", command.Environment["RABBITMQ_NODENAME"]);
        Assert.Equal("data/rabbitmq/mnesia", command.Environment["RABBITMQ_MNESIA_BASE"]);
        Assert.Equal("http://localhost:15672/", command.ReadyUrl);
        Assert.Equal(5672, command.Port);
        Assert.True(command.IsInfrastructure);
    }

    private static LocalCommand InfraCommand(Step step) =>
        LocalCommand.ForInfra(StepServices.Load(step).Infra.Single(), step) ?? throw new InvalidOperationException("its program is not found");

    /// <summary>A step whose only service is a broker with the x-workshop lines given.</summary>
    private static Step MadeUpStep(TempDirectory folder, string lines)
    {
        var indented = string.Join('\n', lines.Split('\n').Select(line => "      " + line));
        File.WriteAllText(folder.File("docker-compose.yml"), $"""
            services:
              broker:
                image: rabbitmq:4.2.3-management
                ports:
                  - "5672:5672"
                x-workshop:
            {indented}
            """);
        return new Step(10, "10-made-up", "made up", folder.Path);
    }

    /// <summary>An executable file at the path given in the folder: a program workshop would find.</summary>
    private static string Executable(TempDirectory folder, string path)
    {
        var file = folder.File(path);
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("the made-up program is a POSIX shell script");
            return file;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllText(file, "#!/bin/sh\n");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return file;
    }
}
