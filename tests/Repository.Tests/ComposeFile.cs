using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Repository.Tests;

/// <summary>A docker-compose.yml read as YAML, with the parts the tests look at.</summary>
public sealed partial class ComposeFile
{
    public ComposeFile(string path)
    {
        Path = path;
        Directory = System.IO.Path.GetDirectoryName(path)!;
        var yaml = new YamlStream();
        using (var reader = File.OpenText(path))
        {
            yaml.Load(reader);
        }

        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        Services = ((YamlMappingNode)root["services"]).Children
            .ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => new ComposeService(((YamlScalarNode)c.Key).Value!, (YamlMappingNode)c.Value, Directory));
    }

    public string Path { get; }

    public string Directory { get; }

    public IReadOnlyDictionary<string, ComposeService> Services { get; }
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
