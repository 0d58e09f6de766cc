using Workshop.Steps;

namespace Workshop.Commands;

/// <summary>What one step changed relative to another: the files, then a unified diff of each.</summary>
public static class DiffCommand
{
    public static int Run(Step from, Step to, bool namesOnly)
    {
        var before = StepFiles.Enumerate(from.Directory);
        var after = StepFiles.Enumerate(to.Directory);
        var changes = before.Keys.Union(after.Keys)
            .Order(StringComparer.Ordinal)
            .Select(path => (path, kind: !before.ContainsKey(path) ? "added" : !after.ContainsKey(path) ? "removed"
                : File.ReadAllText(before[path]) == File.ReadAllText(after[path]) ? null : "changed"))
            .Where(c => c.kind is not null)
            .ToList();

        Ui.Line($"{to.Folder} compared with {from.Folder}: {changes.Count} file(s)");
        foreach (var (path, kind) in changes)
        {
            Ui.Line($"  {kind,-8} {path}");
        }

        if (namesOnly)
        {
            return 0;
        }

        foreach (var (path, kind) in changes)
        {
            Ui.Line();
            var old = kind == "added" ? [] : Lines(before[path]);
            var @new = kind == "removed" ? [] : Lines(after[path]);
            Ui.Line($"--- {(kind == "added" ? "/dev/null" : $"{from.Folder}/{path}")}");
            Ui.Line($"+++ {(kind == "removed" ? "/dev/null" : $"{to.Folder}/{path}")}");
            foreach (var line in UnifiedDiff.Hunks(old, @new))
            {
                Ui.Line(line);
            }
        }

        return 0;
    }

    private static string[] Lines(string path) => File.ReadAllText(path).Replace("\r\n", "\n").TrimEnd('\n').Split('\n');
}

/// <summary>A unified diff (three lines of context) from a longest-common-subsequence table; step files are small.</summary>
public static class UnifiedDiff
{
    public static IEnumerable<string> Hunks(string[] a, string[] b, int context = 3)
    {
        var edits = Edits(a, b);
        var changed = Enumerable.Range(0, edits.Count).Where(k => edits[k].Kind != ' ').ToList();
        for (var g = 0; g < changed.Count; g++)
        {
            // Changes closer together than twice the context share one hunk.
            var first = changed[g];
            var last = first;
            while (g + 1 < changed.Count && changed[g + 1] - last <= 2 * context + 1)
            {
                last = changed[++g];
            }

            var start = Math.Max(0, first - context);
            var hunk = edits.GetRange(start, Math.Min(edits.Count, last + context + 1) - start);
            var oldStart = hunk.FirstOrDefault(e => e.OldLine > 0)?.OldLine ?? 0;
            var newStart = hunk.FirstOrDefault(e => e.NewLine > 0)?.NewLine ?? 0;
            yield return $"@@ -{oldStart},{hunk.Count(e => e.Kind != '+')} +{newStart},{hunk.Count(e => e.Kind != '-')} @@";
            foreach (var edit in hunk)
            {
                yield return edit.Kind + edit.Text;
            }
        }
    }

    private sealed record Edit(char Kind, string Text, int OldLine, int NewLine);

    private static List<Edit> Edits(string[] a, string[] b)
    {
        var lcs = new int[a.Length + 1, b.Length + 1];
        for (var x = a.Length - 1; x >= 0; x--)
        {
            for (var y = b.Length - 1; y >= 0; y--)
            {
                lcs[x, y] = a[x] == b[y] ? lcs[x + 1, y + 1] + 1 : Math.Max(lcs[x + 1, y], lcs[x, y + 1]);
            }
        }

        var edits = new List<Edit>();
        int i = 0, j = 0;
        while (i < a.Length || j < b.Length)
        {
            if (i < a.Length && j < b.Length && a[i] == b[j])
            {
                edits.Add(new Edit(' ', a[i], ++i, ++j));
            }
            else if (j < b.Length && (i == a.Length || lcs[i, j + 1] >= lcs[i + 1, j]))
            {
                edits.Add(new Edit('+', b[j], 0, ++j));
            }
            else
            {
                edits.Add(new Edit('-', a[i], ++i, 0));
            }
        }

        return edits;
    }
}
