using System.Text.RegularExpressions;
using Workshop.Readme;
using YamlDotNet.RepresentationModel;

namespace Workshop.Steps;

/// <summary>One of the step's own .NET services, as its docker-compose.yml describes it.</summary>
public sealed record AppService(string Name, string ProjectDirectory, int Port, IReadOnlyList<string> DependsOn)
{
    public string ProjectName => Path.GetFileName(ProjectDirectory);
    public string ProjectFile => Path.Combine(ProjectDirectory, ProjectName + ".csproj");
    public string Url => $"http://localhost:{Port}";
}

/// <summary>
/// A piece of infrastructure the step runs from an image (Consul, Jaeger, Prometheus ...). Its
/// <c>x-workshop</c> key in docker-compose.yml says how <c>workshop up</c> runs it without Docker:
/// <code>
/// x-workshop:
///   run: consul agent -dev -client 127.0.0.1     # the installed program and its arguments (in the step folder)
///   ready: http://localhost:8500/v1/status/leader  # answers 2xx once it serves (else: its port accepts connections)
///   without: the services find each other at their configured addresses   # only where the step serves without it: what changes
/// </code>
/// The program runs in the step folder: what it writes belongs under data/, which git and
/// `workshop diff` leave out.
/// </summary>
/// <param name="Port">The default host port of its first mapping; 0 when it publishes none.</param>
/// <param name="Run">The <c>run</c> line split into words as a shell would: the program first.</param>
public sealed record InfraService(string Name, int Port, IReadOnlyList<string>? Run, string? Ready, string? Without)
{
    /// <summary>The program of the <c>run</c> line, for messages.</summary>
    public string? Program => Run?[0];

    /// <summary>Where to look at it: the origin of its ready address, or its first port.</summary>
    public string Url => Ready is not null && Uri.TryCreate(Ready, UriKind.Absolute, out var ready)
        ? ready.GetLeftPart(UriPartial.Authority)
        : $"localhost:{Port}";
}

/// <summary>
/// Reads a step's services from its docker-compose.yml, so Docker and the local run share one list:
/// a service with a build section is one of ours, its project folder is where its Dockerfile is, its
/// port is the default host port of its mapping ("${USERS_PORT:-8001}:8080").
/// </summary>
public static partial class StepServices
{
    public static (IReadOnlyList<AppService> Apps, IReadOnlyList<InfraService> Infra) Load(Step step)
    {
        var yaml = new YamlStream();
        using (var reader = File.OpenText(step.ComposePath))
        {
            yaml.Load(reader);
        }

        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        var services = (YamlMappingNode)root.Children[new YamlScalarNode("services")];
        var apps = new List<AppService>();
        var infra = new List<InfraService>();

        foreach (var (key, value) in services.Children)
        {
            var name = ((YamlScalarNode)key).Value!;
            var service = (YamlMappingNode)value;
            var ports = Ports(service);
            if (service.Children.TryGetValue(new YamlScalarNode("build"), out var build))
            {
                var buildNode = (YamlMappingNode)build;
                var context = Scalar(buildNode, "context") ?? ".";
                var dockerfile = Scalar(buildNode, "dockerfile") ?? "Dockerfile";
                var projectDir = Path.GetDirectoryName(Path.GetFullPath(Path.Combine(step.Directory, context, dockerfile)))!;
                apps.Add(new AppService(name, projectDir, ports.FirstOrDefault(), DependsOn(service)));
            }
            else
            {
                var local = service.Children.TryGetValue(new YamlScalarNode("x-workshop"), out var x) ? x as YamlMappingNode : null;
                infra.Add(new InfraService(
                    name, ports.FirstOrDefault(),
                    local is null ? null : RunLine(step, name, Scalar(local, "run")),
                    local is null ? null : Scalar(local, "ready"),
                    local is null ? null : Scalar(local, "without")));
            }
        }

        return (StartOrder(apps), infra);
    }

    /// <summary>Dependencies first, so users starts after the accounts service it calls.</summary>
    private static List<AppService> StartOrder(List<AppService> apps)
    {
        var ordered = new List<AppService>();
        var placed = new HashSet<string>();
        while (ordered.Count < apps.Count)
        {
            var next = apps.FirstOrDefault(a => !placed.Contains(a.Name) && a.DependsOn.All(d => placed.Contains(d) || apps.All(x => x.Name != d)))
                ?? throw new UserError("docker-compose.yml: the services depend on each other in a cycle");
            ordered.Add(next);
            placed.Add(next.Name);
        }

        return ordered;
    }

    private static List<int> Ports(YamlMappingNode service)
    {
        if (!service.Children.TryGetValue(new YamlScalarNode("ports"), out var node) || node is not YamlSequenceNode list)
        {
            return [];
        }

        return list.Children.OfType<YamlScalarNode>()
            .Select(p => PortMapping().Match(p.Value ?? ""))
            .Where(m => m.Success)
            .Select(m => int.Parse(m.Groups["port"].Value))
            .ToList();
    }

    private static List<string> DependsOn(YamlMappingNode service)
    {
        if (!service.Children.TryGetValue(new YamlScalarNode("depends_on"), out var node))
        {
            return [];
        }

        return node switch
        {
            YamlSequenceNode list => list.Children.OfType<YamlScalarNode>().Select(s => s.Value!).ToList(),
            YamlMappingNode map => map.Children.Keys.OfType<YamlScalarNode>().Select(s => s.Value!).ToList(),
            _ => [],
        };
    }

    private static List<string>? RunLine(Step step, string service, string? line)
    {
        try
        {
            return line is null ? null : ShellWords.Split(line) is { Count: > 0 } words ? words.ToList() : null;
        }
        catch (FormatException e)
        {
            throw new UserError($"{step.Folder}/docker-compose.yml: the x-workshop run line of {service} cannot be read: {e.Message}");
        }
    }

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? (value as YamlScalarNode)?.Value : null;

    // "${USERS_PORT:-8001}:8080" or "8001:8080": the host side's default.
    [GeneratedRegex(@"^(\$\{\w+:-(?<port>\d+)\}|(?<port>\d+)):\d+")]
    private static partial Regex PortMapping();
}
