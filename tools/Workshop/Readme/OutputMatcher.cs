using System.Text.RegularExpressions;

namespace Workshop.Readme;

/// <summary>
/// Compares what a command printed with what the README shows. Line endings and trailing blanks do not
/// count; "..." in the README stands for text that changes from run to run (a trace id, a time).
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

        var pattern = string.Join("[\\s\\S]*?", want.Split(Wildcard).Select(Regex.Escape));
        return Regex.IsMatch(got, $"^{pattern}$");
    }

    public static string Normalize(string text) =>
        string.Join('\n', text.Replace("\r\n", "\n").Split('\n').Select(l => l.TrimEnd())).Trim('\n');
}
