using System.Globalization;
using System.Text.RegularExpressions;
using Workshop.Readme;
using Workshop.Steps;

namespace Workshop.Commands;

/// <summary>Runs a step README's "Try it" commands against the running step and says which did what the README says.</summary>
public static partial class CheckCommand
{
    public static async Task<int> RunAsync(Step step)
    {
        var commands = TryItParser.Parse(await File.ReadAllTextAsync(step.ReadmePath));
        if (commands.Count == 0)
        {
            throw new UserError($"{step.Folder}/README.md has no Try it commands");
        }

        // The ports `workshop up` runs the step on: a port moved by USERS_PORT and the like is moved in
        // the README's commands too.
        var (apps, _) = StepServices.Load(step, StepVariables.Read(step));
        var down = apps.Where(a => Ports.IsFree(a.Port)).ToList();
        if (down.Count > 0)
        {
            throw new UserError($"{string.Join(", ", down.Select(a => a.Name))} not running: start the step first with `{Ui.Command} up {step.Folder[..2]} --fresh` or `docker compose up` in {step.Folder}");
        }

        LocalhostProxy.WarnIfBypassed();

        Ui.Line($"Checking {step.Folder} against its README ({commands.Count} commands):");
        var passed = 0;
        foreach (var command in commands)
        {
            var result = await TryItRunner.RunAsync(command, word => MovePorts(word, apps), CancellationToken.None);
            if (result.Passed)
            {
                passed++;
                Ui.Ok($"{command.Number}. {command.Title}");
                continue;
            }

            Ui.Fail($"{command.Number}. {command.Title}: {result.Problem}");
            Ui.Line("       expected: " + OutputMatcher.Normalize(command.ExpectedOutput).Replace("\n", "\n                 "));
            Ui.Line("       got:      " + OutputMatcher.Normalize(result.Output).Replace("\n", "\n                 "));
        }

        Ui.Line();
        Ui.Line($"{passed} of {commands.Count} checks passed.");
        if (passed < commands.Count)
        {
            Ui.Line("Ids and balances follow the README from empty databases: restart with `--fresh` if you have been experimenting.");
        }

        return passed == commands.Count ? 0 : 1;
    }

    /// <summary>localhost:8001 in a command, where users runs on 9001, becomes localhost:9001.</summary>
    private static string MovePorts(string word, IReadOnlyList<AppService> apps) =>
        LocalhostPort().Replace(word, m => apps.FirstOrDefault(a => a.HostPort.Moved && a.HostPort.Documented.ToString(CultureInfo.InvariantCulture) == m.Groups[1].Value) is { } app
            ? $"localhost:{app.Port}"
            : m.Value);

    [GeneratedRegex(@"\blocalhost:(\d+)")]
    private static partial Regex LocalhostPort();
}
