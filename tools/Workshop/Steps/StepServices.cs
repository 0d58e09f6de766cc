using System.Globalization;
using System.Text.RegularExpressions;
using Workshop.Readme;
using YamlDotNet.RepresentationModel;

namespace Workshop.Steps;

/// <summary>One of the step's own .NET services, as its docker-compose.yml describes it.</summary>
/// <param name="Addresses">Its environment entries that hold another service's address inside compose.</param>
public sealed record AppService(string Name, string ProjectDirectory, HostPort HostPort, IReadOnlyList<string> DependsOn, IReadOnlyList<ServiceAddress> Addresses)
{
    /// <summary>The host port it runs on: the documented one, unless its variable moves it.</summary>
    public int Port => HostPort.Port;
    public string ProjectName => Path.GetFileName(ProjectDirectory);
    public string ProjectFile => Path.Combine(ProjectDirectory, ProjectName + ".csproj");
    public string Url => $"http://localhost:{Port}";
}

/// <summary>A service's host port, from its mapping <c>"${USERS_PORT:-8001}:8080"</c>.</summary>
/// <param name="Port">The port it runs on: the variable's value where it is set, else the documented one.</param>
/// <param name="Documented">The mapping's default, the port the READMEs show (8001).</param>
/// <param name="Container">The port inside its container (8080).</param>
/// <param name="Variable">The variable that moves it (USERS_PORT); null for a fixed mapping.</param>
/// <param name="Source">Where the variable was set (the environment, or the step's .env); null when it is not.</param>
/// <param name="Span">How many host ports it publishes: 1, or a range's length for a service compose can scale (8002-8012: 11).</param>
public sealed record HostPort(int Port, int Documented, int Container, string? Variable, string? Source, int Span = 1)
{
    /// <summary>The host ports its instances can be on, from its own: the range, moved with its first port.</summary>
    public IEnumerable<int> All => Enumerable.Range(Port, Span);

    public bool Moved => Port != Documented;
}

/// <summary>
/// An environment entry of a service that names another service by its address inside compose
/// (<c>AccountsClient__BaseAddress: http://accounts:8080</c>). Run locally, the other service is at
/// <c>http://localhost:</c> and its host port instead.
/// </summary>
/// <param name="Origin">The address's scheme, host and port as compose writes them (<c>http://accounts:8080</c>).</param>
public sealed record ServiceAddress(string Key, string Service, string Value, string Origin)
{
    public string OnHost(int port) => $"http://localhost:{port}{Value[Origin.Length..]}";
}

/// <summary>
/// A piece of infrastructure the step runs from an image (Consul, Jaeger, Prometheus ...). Its
/// <c>x-workshop</c> key in docker-compose.yml says how <c>workshop up</c> runs it without Docker:
/// <code>
/// x-workshop:
///   run: consul agent -dev -client 127.0.0.1     # the installed program and its arguments (in the step folder)
///   run: RABBITMQ_NODENAME=workshop@localhost rabbitmq-server   # or so: NAME=value words first, as in a shell, set the program's environment
///   look-in: [/usr/lib/rabbitmq/bin]   # folders searched for the program before the PATH
///   ready: http://localhost:8500/v1/status/leader  # answers 2xx once it serves (else: its port accepts connections)
///   without: the services find each other at their configured addresses   # only where the step serves without it: what changes
///   config: prometheus    # where its configuration names the services at their documented addresses (see InfraConfig)
///   install: sudo apt-get install prometheus   # how to get its program, where `docker compose up -d` alone would not do
/// </code>
/// The program runs in the step folder: what it writes belongs under data/, which git and
/// `workshop diff` leave out, and `workshop up --fresh` empties. A program that needs variables to
/// keep there (RabbitMQ's RABBITMQ_MNESIA_BASE=data/rabbitmq/mnesia) gets them on its run line, so
/// that the line reads as the command an attendee would type; relative paths in them stay relative
/// to the step folder. <c>look-in</c> is for a package whose program on the PATH is a wrapper that
/// would not run it so: Debian's /usr/sbin/rabbitmq-server, run as root, switches to the rabbitmq
/// user and /var/lib/rabbitmq, dropping the variables, and refuses any other user; the script it
/// calls, /usr/lib/rabbitmq/bin/rabbitmq-server, runs as anyone. Where the folder is absent
/// (Homebrew's rabbitmq-server is a plain one on the PATH), the PATH is searched as before.
/// </summary>
/// <param name="Port">The default host port of its first mapping; 0 when it publishes none.</param>
/// <param name="Run">The <c>run</c> line split into words as a shell would, after its variables: the program first.</param>
/// <param name="Config">A folder of the step whose files name the services as localhost:PORT; null when none does.</param>
/// <param name="Install">How to install its program, said instead of the compose command where its container could not reach the services run here.</param>
/// <param name="Environment">The variables the <c>run</c> line sets before its program; null when it sets none.</param>
/// <param name="LookIn">Folders, absolute or relative to the step, searched for the program before the PATH; null for the PATH alone.</param>
public sealed record InfraService(
    string Name, int Port, IReadOnlyList<string>? Run, string? Ready, string? Without, string? Config = null, string? Install = null,
    IReadOnlyDictionary<string, string>? Environment = null, IReadOnlyList<string>? LookIn = null)
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
/// port is the default host port of its mapping ("${USERS_PORT:-8001}:8080") unless the mapping's
/// variable is set.
/// </summary>
public static partial class StepServices
{
    /// <summary>The services on their documented ports.</summary>
    public static (IReadOnlyList<AppService> Apps, IReadOnlyList<InfraService> Infra) Load(Step step) => Load(step, StepVariables.None);

    /// <summary>The services, each of ours on the port its variable gives where one is set.</summary>
    public static (IReadOnlyList<AppService> Apps, IReadOnlyList<InfraService> Infra) Load(Step step, StepVariables variables)
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
        var built = services.Children
            .Where(s => ((YamlMappingNode)s.Value).Children.ContainsKey(new YamlScalarNode("build")))
            .ToDictionary(s => ((YamlScalarNode)s.Key).Value!, s => Ports((YamlMappingNode)s.Value).FirstOrDefault());

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
                apps.Add(new AppService(name, projectDir, Resolve(name, ports.FirstOrDefault(), variables), DependsOn(service), Addresses(service, built)));
            }
            else
            {
                var local = service.Children.TryGetValue(new YamlScalarNode("x-workshop"), out var x) ? x as YamlMappingNode : null;
                var run = local is null ? null : RunLine(step, name, Scalar(local, "run"));
                infra.Add(new InfraService(
                    name, ports.FirstOrDefault()?.Documented ?? 0,
                    run?.Words,
                    local is null ? null : Scalar(local, "ready"),
                    local is null ? null : Scalar(local, "without"),
                    local is null ? null : Scalar(local, "config"),
                    local is null ? null : Scalar(local, "install"),
                    run is { Environment.Count: > 0 } ? run.Environment : null,
                    local is null ? null : LookIn(step, name, local)));
            }
        }

        var shared = apps.Where(a => a.Port != 0).GroupBy(a => a.Port).FirstOrDefault(g => g.Count() > 1);
        if (shared is not null)
        {
            throw new UserError($"{string.Join(" and ", shared.Select(a => a.Name))} would both run on port {shared.Key} "
                + $"({string.Join(", ", shared.Select(a => a.HostPort.Variable ?? "fixed").Distinct())}): give each service a port of its own");
        }

        return (StartOrder(apps), infra);
    }

    /// <summary>The port the mapping's variable gives, where it is set; else the documented one.</summary>
    private static HostPort Resolve(string service, PortMapping? mapping, StepVariables variables)
    {
        if (mapping is null)
        {
            return new HostPort(0, 0, 0, null, null);
        }

        if ((mapping.Variable is null ? null : variables.Get(mapping.Variable)) is not ({ } value, { } source))
        {
            return new HostPort(mapping.Documented, mapping.Documented, mapping.Container, mapping.Variable, null, mapping.Span);
        }

        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new UserError($"{mapping.Variable}={value} (in {source}) is not a port: {service} needs a number from 1 to 65535");
        }

        return new HostPort(port, mapping.Documented, mapping.Container, mapping.Variable, source, mapping.Span);
    }

    /// <summary>The service's environment entries whose value is the compose address of one of ours: "http://accounts:8080...".</summary>
    private static List<ServiceAddress> Addresses(YamlMappingNode service, Dictionary<string, PortMapping?> built)
    {
        if (!service.Children.TryGetValue(new YamlScalarNode("environment"), out var node))
        {
            return [];
        }

        IEnumerable<(string Key, string Value)> entries = node switch
        {
            YamlMappingNode map => map.Children.Select(e => (((YamlScalarNode)e.Key).Value!, (e.Value as YamlScalarNode)?.Value ?? "")),
            YamlSequenceNode list => list.Children.OfType<YamlScalarNode>().Select(e => e.Value ?? "").Where(e => e.Contains('='))
                .Select(e => (e[..e.IndexOf('=')], e[(e.IndexOf('=') + 1)..])),
            _ => [],
        };

        var addresses = new List<ServiceAddress>();
        foreach (var (key, value) in entries)
        {
            var match = ComposeAddress().Match(value);
            if (match.Success && built.TryGetValue(match.Groups["service"].Value, out var target) && target is not null
                && target.Container == int.Parse(match.Groups["port"].Value, CultureInfo.InvariantCulture))
            {
                addresses.Add(new ServiceAddress(key, match.Groups["service"].Value, value, match.Value));
            }
        }

        return addresses;
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

    private sealed record PortMapping(int Documented, int Container, string? Variable, int Span);

    private static List<PortMapping> Ports(YamlMappingNode service)
    {
        if (!service.Children.TryGetValue(new YamlScalarNode("ports"), out var node) || node is not YamlSequenceNode list)
        {
            return [];
        }

        return list.Children.OfType<YamlScalarNode>()
            .Select(p => PortMappingPattern().Match(p.Value ?? ""))
            .Where(m => m.Success)
            .Select(m => new PortMapping(
                int.Parse(m.Groups["port"].Value, CultureInfo.InvariantCulture),
                int.Parse(m.Groups["container"].Value, CultureInfo.InvariantCulture),
                m.Groups["variable"].Success ? m.Groups["variable"].Value : null,
                m.Groups["last"].Success ? int.Parse(m.Groups["last"].Value, CultureInfo.InvariantCulture) - int.Parse(m.Groups["port"].Value, CultureInfo.InvariantCulture) + 1 : 1))
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

    /// <summary>The <c>run</c> line's words, without the NAME=value words before its program.</summary>
    private sealed record RunWords(IReadOnlyDictionary<string, string> Environment, List<string> Words);

    /// <summary>
    /// The run line as a shell reads it: the NAME=value words before the first other word set the
    /// program's environment (<c>RABBITMQ_NODENAME=workshop@localhost rabbitmq-server</c>); the rest is
    /// the program and its arguments. A later NAME=value is an argument, as in a shell.
    /// </summary>
    private static RunWords? RunLine(Step step, string service, string? line)
    {
        IReadOnlyList<string> words;
        try
        {
            words = line is null ? [] : ShellWords.Split(line);
        }
        catch (FormatException e)
        {
            throw UnreadableRunLine(step, service, e.Message);
        }

        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        var program = 0;
        for (; program < words.Count && words[program].Contains('='); program++)
        {
            var word = words[program];
            var name = word[..word.IndexOf('=')];
            if (!VariableName().IsMatch(name))
            {
                // A shell would run a program of that name; none is called so, and the line means a variable.
                throw UnreadableRunLine(step, service, $"{word} sets no variable: a name is letters, digits and _, not starting with a digit");
            }

            // Named twice, the last one counts, as in a shell.
            environment[name] = word[(name.Length + 1)..];
        }

        if (program == words.Count)
        {
            return environment.Count == 0 ? null : throw UnreadableRunLine(step, service, $"it sets {string.Join(", ", environment.Keys)} but names no program");
        }

        return new RunWords(environment, words.Skip(program).ToList());
    }

    private static UserError UnreadableRunLine(Step step, string service, string why) =>
        new($"{step.Folder}/docker-compose.yml: the x-workshop run line of {service} cannot be read: {why}");

    /// <summary>The <c>look-in</c> folders, a list: <c>look-in: [/usr/lib/rabbitmq/bin]</c>.</summary>
    private static List<string>? LookIn(Step step, string service, YamlMappingNode local)
    {
        if (!local.Children.TryGetValue(new YamlScalarNode("look-in"), out var node))
        {
            return null;
        }

        if (node is YamlSequenceNode list && list.Children.All(folder => folder is YamlScalarNode { Value.Length: > 0 }))
        {
            return list.Children.Select(folder => ((YamlScalarNode)folder).Value!).ToList();
        }

        throw new UserError($"{step.Folder}/docker-compose.yml: the x-workshop look-in of {service} is not a list of folders: write it as [/usr/lib/rabbitmq/bin]");
    }

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? (value as YamlScalarNode)?.Value : null;

    // "${USERS_PORT:-8001}:8080" or "8001:8080": the host side's variable and default, the container's port.
    // A scaled service publishes a range, "${ACCOUNTS_PORT:-8002}-${ACCOUNTS_PORT_LAST:-8012}:8080":
    // run locally, it is one instance on the range's first port.
    [GeneratedRegex(@"^(\$\{(?<variable>\w+):-(?<port>\d+)\}|(?<port>\d+))(-(\$\{\w+:-(?<last>\d+)\}|(?<last>\d+)))?:(?<container>\d+)")]
    private static partial Regex PortMappingPattern();

    // A shell variable's name: RABBITMQ_NODENAME.
    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex VariableName();

    // "http://accounts:8080" at the start of a value: a service's address inside compose.
    [GeneratedRegex(@"^http://(?<service>[a-z0-9][a-z0-9_.-]*):(?<port>\d+)(?=/|$)")]
    private static partial Regex ComposeAddress();
}
