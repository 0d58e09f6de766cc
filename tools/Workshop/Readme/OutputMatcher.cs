using System.Text;
using System.Text.RegularExpressions;

namespace Workshop.Readme;

/// <summary>
/// Compares what a command printed with what the README shows. Line endings and trailing blanks do not
/// count; "..." in the README stands for text that changes from run to run (a trace id, a time), and a
/// line that is only "..." for any lines, or none (the rest of a long answer).
/// </summary>
public static class OutputMatcher
{
    public const string Wildcard = "...";

    public static bool Matches(string expected, string actual)
    {
        var want = Normalize(expected);
        var got = Normalize(actual);
        if (!want.Contains(Wildcard, StringComparison.Ordinal))
        {
            return want == got;
        }

        return Regex.IsMatch(got, Pattern(want));
    }

    public static string Normalize(string text) =>
        string.Join('\n', text.Replace("\r\n", "\n").Split('\n').Select(l => l.TrimEnd())).Trim('\n');

    private static string Pattern(string want)
    {
        var lines = want.Split('\n');
        bool AnyLines(int i) => i < lines.Length && lines[i].Trim() == Wildcard;
        var pattern = new StringBuilder("^");
        for (var i = 0; i < lines.Length; i++)
        {
            var last = i == lines.Length - 1;
            if (AnyLines(i))
            {
                // Whole lines, or none: before the next line, or after the previous one at the end.
                pattern.Append(last ? (i == 0 ? @"[\s\S]*" : @"(\n[\s\S]*)?") : @"([^\n]*\n)*?");
                continue;
            }

            pattern.Append(string.Join(@"[\s\S]*?", lines[i].Split(Wildcard).Select(Regex.Escape)));
            if (!last && !(i + 1 == lines.Length - 1 && AnyLines(i + 1)))
            {
                pattern.Append(@"\n");
            }
        }

        return pattern.Append('$').ToString();
    }
}
