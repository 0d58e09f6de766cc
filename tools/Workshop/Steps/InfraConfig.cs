using System.Text.RegularExpressions;

namespace Workshop.Steps;

/// <summary>
/// A piece of infrastructure whose configuration names the step's services at their documented
/// addresses (Prometheus's scrape targets, <c>localhost:8001</c>), in a folder its x-workshop entry
/// names (<c>config: prometheus</c>). workshop up runs the program on a copy of that folder in
/// data/&lt;name&gt;-config, with each address moved to the port its service runs on: a service moved
/// with USERS_PORT=9001 is still found. The run line's paths into the folder, in its arguments and in
/// the variables it sets, are pointed at the copy.
/// </summary>
public static partial class InfraConfig
{
    public static LocalCommand Apply(LocalCommand command, InfraService service, Step step, IReadOnlyList<AppService> apps)
    {
        if (service.Config is null)
        {
            return command;
        }

        var folder = service.Config.Replace('\\', '/').TrimEnd('/');
        var source = Path.GetFullPath(Path.Combine(step.Directory, folder));
        if (!Directory.Exists(source))
        {
            throw new UserError($"{step.Folder}/docker-compose.yml: the x-workshop config of {service.Name} names {service.Config}, which is not a folder of the step");
        }

        var copy = Path.Combine(step.Directory, "data", service.Name + "-config");
        if (Directory.Exists(copy))
        {
            Directory.Delete(copy, recursive: true);
        }

        var moved = apps.Where(a => a.HostPort.Moved).ToDictionary(a => a.HostPort.Documented, a => a.Port);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.WriteAllText(target, Move(File.ReadAllText(file), moved));
        }

        var to = Path.GetRelativePath(step.Directory, copy).Replace('\\', '/') + "/";
        return command with
        {
            Arguments = command.Arguments.Select(argument => Repoint(argument, folder + "/", to)).ToList(),
            Environment = command.Environment.ToDictionary(variable => variable.Key, variable => Repoint(variable.Value, folder + "/", to)),
        };
    }

    /// <summary>Each <c>localhost:PORT</c> of a moved service, at the port it moved to.</summary>
    public static string Move(string text, IReadOnlyDictionary<int, int> moved) =>
        moved.Count == 0 ? text : LocalAddress().Replace(text, m =>
            moved.TryGetValue(int.Parse(m.Groups["port"].Value), out var port) ? $"localhost:{port}" : m.Value);

    /// <summary>A path into the folder, alone or as an option's value (<c>--config.file=prometheus/x.yml</c>), into the copy.</summary>
    private static string Repoint(string argument, string from, string to)
    {
        if (argument.StartsWith(from, StringComparison.Ordinal))
        {
            return to + argument[from.Length..];
        }

        var at = argument.IndexOf("=" + from, StringComparison.Ordinal);
        return at < 0 ? argument : argument[..(at + 1)] + to + argument[(at + 1 + from.Length)..];
    }

    [GeneratedRegex(@"\blocalhost:(?<port>\d+)(?!\d)")]
    private static partial Regex LocalAddress();
}
