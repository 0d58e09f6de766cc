using Workshop.Steps;

namespace Workshop.Commands;

/// <summary>
/// Removes a step's local data, so that a demo starts from empty databases: what `workshop up --fresh`
/// removes, without starting anything. Asks first, unless told not to; refuses while the step runs.
/// </summary>
public static class ResetCommand
{
    public static int Run(Step step, bool yes)
    {
        var (apps, _) = StepServices.Load(step, StepVariables.Read(step));
        var running = apps.Where(a => !Ports.IsFree(a.Port)).ToList();
        if (running.Count > 0)
        {
            // Its services hold their SQLite files open: removing them under a running service loses
            // what it writes next, and on Windows fails.
            throw new UserError($"{step.Folder} is running ({string.Join(", ", running.Select(a => $"{a.Name} on port {a.Port}"))}): " +
                $"stop it first (Ctrl-C where `{Ui.Command} up {step.Folder[..2]}` runs, or `docker compose down` in {step.Folder}), then reset it");
        }

        var folders = StepData.Existing(step, apps);
        if (folders.Count == 0)
        {
            Ui.Line($"Nothing to reset: {step.Folder} has no local data. (Docker keeps its own in volumes: `docker compose down -v` in {step.Folder} removes them.)");
            return 0;
        }

        if (!yes)
        {
            Console.Write($"Remove {string.Join(", ", folders.Select(f => Path.GetRelativePath(step.Directory, f)))} of {step.Folder}? [y/N] ");
            var answer = Console.ReadLine();
            if (answer is null)
            {
                Console.WriteLine();
                throw new UserError($"reset asks before it removes anything, and nobody answered: answer y, or run `{Ui.Command} reset {step.Folder[..2]} --yes`");
            }

            if (answer.Trim().ToLowerInvariant() is not ("y" or "yes"))
            {
                Ui.Line("Nothing removed.");
                return 1;
            }
        }

        StepData.Remove(step, folders, "reset");
        Ui.Ok($"{step.Folder} starts from empty databases at its next `{Ui.Command} up {step.Folder[..2]}`.");
        return 0;
    }
}
