using Workshop.Steps;

namespace Workshop.Commands;

public static class ListCommand
{
    public static int Run(IReadOnlyList<Step> steps)
    {
        var width = steps.Max(s => s.Folder.Length);
        foreach (var step in steps)
        {
            Ui.Line($"{step.Folder.PadRight(width)}  {step.Title}");
        }

        return 0;
    }
}
