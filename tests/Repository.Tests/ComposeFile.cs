using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Repository.Tests;

/// <summary>
/// A docker-compose.yml read as YAML, with the parts the tests look at. As `docker compose` does when
/// no file is named, a docker-compose.override.yml beside it is merged in (the root file keeps there
/// what `docker stack deploy` refuses); <paramref name="readOverride"/> false reads the file alone, as
/// `docker stack deploy -c docker-compose.yml` does.
/// </summary>
public sealed partial class ComposeFile
{
    public const string OverrideFileName = "docker-compose.override.yml";

    public ComposeFile(string path, bool readOverride = true)
    {
        Path = path;
        Directory = System.IO.Path.GetDirectoryName(path)!;
        Root = Load(path);
        var overridePath = System.IO.Path.Combine(Directory, OverrideFileName);
        if (readOverride && System.IO.Path.GetFileName(path) == "docker-compose.yml" && File.Exists(overridePath))
        {
            OverridePath = overridePath;
            Merge(Root, Load(overridePath));
        }

        Services = ((YamlMappingNode)Root["services"]).Children
            .ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => new ComposeService(((YamlScalarNode)c.Key).Value!, (YamlMappingNode)c.Value, Directory));
    }

    public string Path { get; }

    /// <summary>The docker-compose.override.yml merged in, if any.</summary>
    public string? OverridePath { get; }

    public string Directory { get; }

    public YamlMappingNode Root { get; }

    public IReadOnlyDictionary<string, ComposeService> Services { get; }

    /// <summary>The top-level configs that name a file: config name to the file's full path.</summary>
    public IReadOnlyDictionary<string, string> ConfigFiles => Root.Children.TryGetValue("configs", out var configs)
        ? ((YamlMappingNode)configs).Children
            .Where(c => c.Value is YamlMappingNode m && m.Children.ContainsKey("file"))
            .ToDictionary(
                c => ((YamlScalarNode)c.Key).Value!,
                c => System.IO.Path.GetFullPath(System.IO.Path.Combine(Directory, ((YamlScalarNode)((YamlMappingNode)c.Value)["file"]).Value!)))
        : [];

    private static YamlMappingNode Load(string path)
    {
        var yaml = new YamlStream();
        using (var reader = File.OpenText(path))
        {
            yaml.Load(reader);
        }

        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }

    // Compose's merge, as far as these files need it: a mapping in both is merged key by key, anything
    // else in the override replaces what the base has.
    private static void Merge(YamlMappingNode target, YamlMappingNode source)
    {
        foreach (var (key, value) in source.Children)
        {
            if (target.Children.TryGetValue(key, out var existing) && existing is YamlMappingNode into && value is YamlMappingNode from)
            {
                Merge(into, from);
            }
            else
            {
                target.Children[key] = value;
            }
        }
    }
}

public sealed partial class ComposeService(string name, YamlMappingNode node, string composeDirectory)
{
    public string Name { get; } = name;

    public YamlMappingNode Node { get; } = node;

    public bool IsBuilt => Node.Children.ContainsKey("build");

    public string? Image => Scalar(Node, "image");

    public string BuildContext => System.IO.Path.GetFullPath(System.IO.Path.Combine(composeDirectory, Scalar(Build, "context") ?? "."));

    public string Dockerfile => System.IO.Path.Combine(BuildContext, Scalar(Build, "dockerfile") ?? "Dockerfile");

    public IReadOnlyDictionary<string, string> BuildArgs => Mapping(Build, "args");

    public IReadOnlyDictionary<string, string> Environment => Mapping(Node, "environment");

    public IReadOnlyList<string> Ports => Node.Children.TryGetValue("ports", out var ports)
        ? ((YamlSequenceNode)ports).Children.Select(p => ((YamlScalarNode)p).Value!).ToList()
        : [];

    /// <summary>"users-data:/app/data" gives ("users-data", "/app/data").</summary>
    public IReadOnlyList<(string Source, string Target)> Volumes => Node.Children.TryGetValue("volumes", out var volumes)
        ? ((YamlSequenceNode)volumes).Children.Select(v => ((YamlScalarNode)v).Value!.Split(':')).Select(v => (v[0], v[1])).ToList()
        : [];

    /// <summary>The services this one waits for, with the condition it waits on ("service_healthy").</summary>
    public IReadOnlyDictionary<string, string> DependsOn => Node.Children.TryGetValue("depends_on", out var dependsOn)
        ? ((YamlMappingNode)dependsOn).Children.ToDictionary(
            d => ((YamlScalarNode)d.Key).Value!,
            d => Scalar((YamlMappingNode)d.Value, "condition") ?? "service_started")
        : [];

    public YamlMappingNode? Healthcheck => Node.Children.TryGetValue("healthcheck", out var h) ? (YamlMappingNode)h : null;

    /// <summary>The deploy section (Swarm's settings), if any.</summary>
    public YamlMappingNode? Deploy => Node.Children.TryGetValue("deploy", out var d) ? (YamlMappingNode)d : null;

    /// <summary>The configs the service is given, in the long form: (config name, path in the container).</summary>
    public IReadOnlyList<(string Source, string Target)> Configs => Node.Children.TryGetValue("configs", out var configs)
        ? ((YamlSequenceNode)configs).Children.Cast<YamlMappingNode>()
            .Select(c => (Scalar(c, "source")!, Scalar(c, "target") ?? "/" + Scalar(c, "source"))).ToList()
        : [];

    /// <summary>The healthcheck's test as a list: ["CMD", "bash", "-c", "exec 3&lt;&gt;/dev/tcp/..."].</summary>
    public IReadOnlyList<string> HealthcheckTest => Healthcheck is null
        ? []
        : ((YamlSequenceNode)Healthcheck["test"]).Children.Select(c => c.ToString()).ToList();

    /// <summary>"${USERS_PORT:-8001}:8080" gives (8001, 8080).</summary>
    public (int Host, int Container)? PortMapping(string mapping)
    {
        var match = PortPattern().Match(mapping);
        return match.Success ? (int.Parse(match.Groups["host"].Value), int.Parse(match.Groups["container"].Value)) : null;
    }

    private YamlMappingNode Build => (YamlMappingNode)Node["build"];

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(key, out var value) ? ((YamlScalarNode)value).Value : null;

    private static Dictionary<string, string> Mapping(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(key, out var value)
            ? ((YamlMappingNode)value).Children.ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => ((YamlScalarNode)c.Value).Value ?? "")
            : [];

    // "${USERS_PORT:-8001}:8080", or a range for a scaled service, "${ACCOUNTS_PORT:-8002}-${ACCOUNTS_PORT_LAST:-8012}:8080": its first port.
    [GeneratedRegex(@"^(\$\{[A-Z_]+:-(?<host>\d+)\}|(?<host>\d+))(-(\$\{[A-Z_]+:-\d+\}|\d+))?:(?<container>\d+)$")]
    private static partial Regex PortPattern();
}
