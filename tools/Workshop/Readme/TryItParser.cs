using System.Text.RegularExpressions;

namespace Workshop.Readme;

/// <summary>One numbered "Try it" command of a step README and the output the README says it prints.</summary>
public sealed record TryItCommand(int Number, string Title, string Command, string ExpectedOutput);

/// <summary>
/// Reads the "## Try it" section of a step README. Each numbered item holds a ```bash block with one
/// command, followed by a fenced block with the output that command prints.
/// </summary>
public static partial class TryItParser
{
    public const string SectionHeading = "## Try it";

    public static IReadOnlyList<TryItCommand> Parse(string markdown)
    {
        var lines = markdown.Replace("\r\n", "\n").Split('\n');
        var start = Array.FindIndex(lines, l => l.TrimEnd() == SectionHeading);
        if (start < 0)
        {
            return [];
        }

        var commands = new List<TryItCommand>();
        var title = "";
        var titleGoesOn = false; // the item's text may wrap onto the lines below it
        var number = 0;
        string? pendingCommand = null;

        for (var i = start + 1; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                break;
            }

            var item = NumberedItem().Match(line);
            if (item.Success)
            {
                number = int.Parse(item.Groups["n"].Value);
                title = item.Groups["text"].Value.Trim().TrimEnd(':');
                titleGoesOn = true;
                continue;
            }

            var fence = Fence().Match(line);
            if (!fence.Success)
            {
                if (titleGoesOn && line.Trim().Length > 0)
                {
                    title = $"{title} {line.Trim()}".TrimEnd(':');
                }
                else
                {
                    titleGoesOn = false;
                }

                continue;
            }

            titleGoesOn = false;

            var (body, end) = ReadBlock(lines, i + 1, fence.Groups["indent"].Value.Length);
            i = end;
            var info = fence.Groups["info"].Value.Trim();
            if (info is "bash" or "sh" or "shell")
            {
                if (pendingCommand is not null)
                {
                    throw new FormatException($"Try it item {number} ('{title}'): the command has no output block after it");
                }

                pendingCommand = body;
            }
            else if (pendingCommand is not null)
            {
                commands.Add(new TryItCommand(number, title, pendingCommand, body));
                pendingCommand = null;
            }
        }

        if (pendingCommand is not null)
        {
            throw new FormatException($"Try it item {number} ('{title}'): the command has no output block after it");
        }

        return commands;
    }

    private static (string Body, int End) ReadBlock(string[] lines, int from, int indent)
    {
        var body = new List<string>();
        for (var i = from; i < lines.Length; i++)
        {
            if (lines[i].Trim() == "```")
            {
                return (string.Join('\n', body), i);
            }

            var line = lines[i];
            body.Add(line.Length >= indent && string.IsNullOrWhiteSpace(line[..indent]) ? line[indent..] : line.TrimStart());
        }

        throw new FormatException("a fenced block in the Try it section is not closed");
    }

    [GeneratedRegex(@"^(?<n>\d+)\.\s+(?<text>.*)$")]
    private static partial Regex NumberedItem();

    [GeneratedRegex(@"^(?<indent>\s*)```(?<info>[\w-]*)\s*$")]
    private static partial Regex Fence();
}
