using System.Diagnostics;

namespace Workshop.Steps;

/// <summary>
/// A process and the processes it started, as signals must reach them: a wrapper script's program, or
/// nginx's workers, would otherwise run on when their parent is paused or stopped. Not for Windows,
/// where <see cref="Process.Kill(bool)"/> takes the whole tree.
/// </summary>
public static class ProcessTree
{
    /// <summary>The process and its descendants, parents first: from /proc on Linux, from ps on macOS.</summary>
    public static List<int> Of(int root) => Of(root, OperatingSystem.IsLinux() ? ParentsFromProc() : ParentsFromPs());

    /// <summary>The same, from a list of (process, parent) pairs.</summary>
    public static List<int> Of(int root, IReadOnlyList<(int Pid, int Parent)> parents)
    {
        var tree = new List<int> { root };
        for (var i = 0; i < tree.Count; i++)
        {
            tree.AddRange(parents.Where(p => p.Parent == tree[i]).Select(p => p.Pid));
        }

        return tree;
    }

    /// <summary>Every process with its parent, read from /proc (Linux).</summary>
    public static List<(int Pid, int Parent)> ParentsFromProc()
    {
        var list = new List<(int, int)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                // "pid (name) state ppid ...": the name may hold spaces and parentheses, so read after the last ')'.
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 1 && int.TryParse(fields[1], out var parent))
                {
                    list.Add((pid, parent));
                }
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
        }

        return list;
    }

    /// <summary>Every process with its parent, as <c>ps -A -o pid=,ppid=</c> prints them (macOS, and Linux too).</summary>
    public static List<(int Pid, int Parent)> ParentsFromPs()
    {
        var start = new ProcessStartInfo("ps") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { "-A", "-o", "pid=,ppid=" })
        {
            start.ArgumentList.Add(arg);
        }

        using var ps = Process.Start(start)!;
        var output = ps.StandardOutput.ReadToEnd();
        ps.WaitForExit();
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length == 2 && int.TryParse(f[0], out _) && int.TryParse(f[1], out _))
            .Select(f => (int.Parse(f[0]), int.Parse(f[1])))
            .ToList();
    }
}
