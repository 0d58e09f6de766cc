namespace Repository.Tests;

/// <summary>
/// `workshop reset NN` on a made-up step: it removes what `up --fresh` removes (the services' data
/// folders and the step's data/), after asking, and nothing else; it refuses while the step runs and
/// when nobody answers.
/// </summary>
public sealed class ResetCommandTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Reset_AsksFirst_KeepsEverythingOnNo_AndRemovesTheDataOnYes()
    {
        using var folder = StepWithData(WorkshopFolder.FreePort());
        var environment = Environment(folder);

        await using (var declined = WorkshopCommand.Start(environment, "reset", "01"))
        {
            await declined.TypeAsync("n");
            await declined.WaitForExitAsync(Bound);
            Assert.Equal(1, declined.ExitCode);
            Assert.Contains($"Remove src/Users/data, data of {folder.Step}? [y/N] Nothing removed.", declined.Output);
        }

        Assert.True(File.Exists(Path.Combine(folder.Root, folder.Step, "src", "Users", "data", "users.db")));
        await using var accepted = WorkshopCommand.Start(environment, "reset", "01");
        await accepted.TypeAsync("y");
        await accepted.WaitForExitAsync(Bound);

        Assert.Equal(0, accepted.ExitCode);
        Assert.Contains("reset: removed src/Users/data", accepted.Output);
        Assert.Contains("reset: removed data", accepted.Output);
        Assert.Contains($"[ok]   {folder.Step} starts from empty databases at its next `./workshop up 01`.", accepted.Output);
        Assert.False(Directory.Exists(Path.Combine(folder.Root, folder.Step, "src", "Users", "data")));
        Assert.False(Directory.Exists(Path.Combine(folder.Root, folder.Step, "data")));
        // Only the data: the step's own files stay.
        Assert.True(File.Exists(Path.Combine(folder.Root, folder.Step, "src", "Users", "Program.cs")));
        Assert.True(File.Exists(Path.Combine(folder.Root, folder.Step, "docker-compose.yml")));

        var again = await WorkshopCommand.RunAsync(environment, "reset", "01", "--yes");
        Assert.Equal(0, again.ExitCode);
        Assert.Contains($"Nothing to reset: {folder.Step} has no local data. (Docker keeps its own in volumes: `docker compose down -v` in {folder.Step} removes them.)", again.Output);
    }

    [Fact]
    public async Task Reset_WithYes_AsksNothing_AndFollowsWorkshopDataDir()
    {
        using var folder = StepWithData(WorkshopFolder.FreePort());
        var moved = Directory.CreateTempSubdirectory("workshop-data-").FullName;
        Directory.CreateDirectory(Path.Combine(moved, "users"));
        File.WriteAllText(Path.Combine(moved, "users", "users.db"), "moved");
        var environment = Environment(folder);
        environment["WORKSHOP_DATA_DIR"] = moved;

        var reset = await WorkshopCommand.RunAsync(environment, "reset", "01", "--yes");

        Assert.Equal(0, reset.ExitCode);
        Assert.DoesNotContain("[y/N]", reset.Output);
        Assert.False(Directory.Exists(Path.Combine(moved, "users")), reset.Output);
        Assert.False(Directory.Exists(Path.Combine(folder.Root, folder.Step, "data")), reset.Output);
        // With the services' data elsewhere, their project folders are not theirs to empty.
        Assert.True(File.Exists(Path.Combine(folder.Root, folder.Step, "src", "Users", "data", "users.db")), reset.Output);
        Directory.Delete(moved, recursive: true);
    }

    [Fact]
    public async Task Reset_WithNobodyToAnswer_RefusesInOneLine_AndRemovesNothing()
    {
        using var folder = StepWithData(WorkshopFolder.FreePort());
        await using var reset = WorkshopCommand.Start(Environment(folder), "reset", "01");
        reset.CloseInput();
        await reset.WaitForExitAsync(Bound);

        Assert.Equal(1, reset.ExitCode);
        var line = Assert.Single(reset.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("workshop: reset asks before it removes anything, and nobody answered: answer y, or run `./workshop reset 01 --yes`", line);
        Assert.True(Directory.Exists(Path.Combine(folder.Root, folder.Step, "data")));
    }

    [Fact]
    public async Task Reset_WhileTheStepRuns_RefusesInOneLine_AndRemovesNothing()
    {
        using var users = new HeldPort();
        using var folder = StepWithData(users.Port);

        var reset = await WorkshopCommand.RunAsync(Environment(folder), "reset", "01", "--yes");

        Assert.Equal(1, reset.ExitCode);
        var line = Assert.Single(reset.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"workshop: {folder.Step} is running (users on port {users.Port}): stop it first (Ctrl-C where `./workshop up 01` runs, or `docker compose down` in {folder.Step}), then reset it", line);
        Assert.True(File.Exists(Path.Combine(folder.Root, folder.Step, "src", "Users", "data", "users.db")));
        Assert.True(Directory.Exists(Path.Combine(folder.Root, folder.Step, "data")));
    }

    /// <summary>A step of one service, users on <paramref name="port"/>, with its database and Prometheus's data in place.</summary>
    private static WorkshopFolder StepWithData(int port) => WorkshopFolder.Create("reset", new Dictionary<string, string>
    {
        ["docker-compose.yml"] = $"services:\n  users:\n    build:\n      context: ..\n      dockerfile: 01-reset/src/Users/Dockerfile\n    ports:\n      - \"${{USERS_PORT:-{port}}}:8080\"\n",
        ["src/Users/Program.cs"] = "// the service\n",
        ["src/Users/data/users.db"] = "users",
        ["data/prometheus/wal/00000000"] = "samples",
    });

    private static Dictionary<string, string> Environment(WorkshopFolder folder) => new() { ["WORKSHOP_ROOT"] = folder.Root };
}
