using System.Net;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Repository.Tests;

/// <summary>
/// The root docker-compose.yml is also a Docker Swarm stack (`docker stack deploy -c docker-compose.yml`,
/// README.md "Beyond one machine"). No Swarm runs here, so the file is checked the way
/// `docker stack deploy` reads it: alone (no override file), with the variables the README exports
/// and nothing from an .env file, host port ranges taken port by port. What the stack needs that a
/// single machine does not: images every node can pull, deploy settings, nothing mounted from this
/// machine's folders, ports that no two services publish, and an address in Consul that every node
/// reaches.
/// </summary>
public sealed partial class SwarmStackTests
{
    private const string ReadmeSection = "## Beyond one machine: Docker Swarm and Kubernetes";

    private static readonly string[] ServicesThatScale = ["accounts", "users"];

    private static ComposeFile Stack() => new(Path.Combine(Repo.Root, "docker-compose.yml"), readOverride: false);

    [Fact]
    public void StackFile_HoldsNothingStackDeployRefuses_TheWaitsAreInTheOverrideComposeReads()
    {
        var stack = Stack();
        // Top-level keys of the version 3 format docker/cli's loader validates against, and extensions.
        var unknown = stack.Root.Children.Keys.Select(k => ((YamlScalarNode)k).Value!)
            .Where(k => !k.StartsWith("x-", StringComparison.Ordinal) && k is not ("version" or "services" or "networks" or "volumes" or "configs" or "secrets"))
            .ToList();
        Assert.True(unknown.Count == 0, $"docker stack deploy refuses these top-level keys: {string.Join(", ", unknown)}");

        foreach (var service in stack.Services.Values)
        {
            // Only a list of names passes its schema; compose's waits (condition: service_healthy) do not.
            Assert.True(
                !service.Node.Children.TryGetValue("depends_on", out var dependsOn) || dependsOn is YamlSequenceNode,
                $"{service.Name}: depends_on with conditions makes `docker stack deploy` refuse the file; put it in {ComposeFile.OverrideFileName}");
        }

        // docker compose still waits: the override file gives every service the waits the steps' files have.
        var composed = new ComposeFile(stack.Path);
        Assert.Equal(Path.Combine(Repo.Root, ComposeFile.OverrideFileName), composed.OverridePath);
        var step = new ComposeFile(Path.Combine(Repo.Root, Repo.Steps[^1].Folder, "docker-compose.yml"));
        foreach (var service in step.Services.Values)
        {
            Assert.Equal(service.DependsOn, composed.Services[service.Name].DependsOn);
        }
    }

    [Fact]
    public void BuiltServices_NameAnImageInTheRegistry_ThatComposeBuildsAndPushes()
    {
        foreach (var service in Stack().Services.Values.Where(s => s.IsBuilt))
        {
            // docker stack deploy ignores build: and pulls the image on whichever node runs a task.
            Assert.Equal($"${{REGISTRY:-localhost:5000}}/workshop-{service.Name}:${{TAG:-latest}}", service.Image);
        }
    }

    [Fact]
    public void AccountsAndUsers_RunReplicasInTheStack_AndOneInstanceUnderCompose()
    {
        var stack = Stack();
        var exported = StackVariables();
        foreach (var name in ServicesThatScale)
        {
            var replicas = Scalar(stack.Services[name].Deploy, "replicas");
            Assert.NotNull(replicas);
            Assert.True(int.Parse(Interpolate(replicas, exported)) >= 2, $"{name}: {replicas} is not several replicas with the README's variables");
            // docker compose applies replicas too: without the variables, as before, one instance.
            Assert.Equal("1", Interpolate(replicas, new Dictionary<string, string>()));
        }
    }

    [Fact]
    public void EveryAppService_RestartsOnFailure_IsBounded_AndUpdatesStartFirst()
    {
        foreach (var service in Stack().Services.Values.Where(s => s.IsBuilt))
        {
            var deploy = service.Deploy;
            Assert.True(deploy is not null, $"{service.Name} has no deploy section");
            Assert.Equal("on-failure", Scalar(Mapping(deploy, "restart_policy"), "condition"));
            var limits = Mapping(Mapping(deploy, "resources"), "limits");
            Assert.True(limits is not null && Scalar(limits, "cpus") is not null && Scalar(limits, "memory") is not null, $"{service.Name}: no CPU and memory limits");
            // The new task runs, and passes its healthcheck, before the old one stops.
            Assert.Equal("start-first", Scalar(Mapping(deploy, "update_config"), "order"));
            Assert.Equal("rollback", Scalar(Mapping(deploy, "update_config"), "failure_action"));
            Assert.NotNull(service.Healthcheck);
        }
    }

    [Fact]
    public void NoService_MountsAFolderOfThisMachine_OnlyNamedVolumesAndConfigs()
    {
        var stack = Stack();
        var declared = stack.Root.Children.TryGetValue("volumes", out var volumes)
            ? ((YamlMappingNode)volumes).Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToHashSet()
            : [];
        foreach (var service in stack.Services.Values)
        {
            foreach (var (source, target) in service.Volumes)
            {
                // A path here would be a folder of whichever node the task lands on.
                Assert.True(declared.Contains(source), $"{service.Name} mounts {source} at {target}: on another Swarm node that is not there; give it as configs");
            }
        }
    }

    [Fact]
    public void ServicesThatKeepData_RunOnTheLabelledDataNode_TheOthersAnywhere()
    {
        var constraint = "node.labels.workshop.data == true";
        foreach (var service in Stack().Services.Values)
        {
            var placement = Mapping(service.Deploy, "placement");
            var listed = placement is not null && placement.Children.TryGetValue("constraints", out var node)
                ? ((YamlSequenceNode)node).Children.Select(n => ((YamlScalarNode)n).Value!).ToList()
                : [];
            // A named volume lives on one node: every replica of a service that keeps data shares the data node's.
            Assert.Equal(service.Volumes.Count > 0 ? [constraint] : [], listed);
        }

        Assert.Contains($"--label-add {constraint.Split(' ')[0]["node.labels.".Length..]}=true", Section());
    }

    [Fact]
    public void PublishedPorts_BelongToOneServiceEach_WithTheReadmesVariables()
    {
        // docker/cli turns "8001-8012:8080" into one published port per host port, and Swarm's routing
        // mesh gives a port to one service only: ranges that overlap make the deploy fail.
        var exported = StackVariables();
        var owner = new Dictionary<int, string>();
        foreach (var service in Stack().Services.Values)
        {
            foreach (var mapping in service.Ports)
            {
                foreach (var port in HostPorts(Interpolate(mapping, exported)))
                {
                    Assert.True(owner.TryAdd(port, service.Name), $"port {port} is published by {owner.GetValueOrDefault(port)} and {service.Name}");
                }
            }
        }

        // Each built service still answers on its documented port (the gateway on 8000, ...).
        foreach (var (name, port) in ComposeTests.HostPorts)
        {
            Assert.Equal(name, owner[port]);
        }
    }

    [Fact]
    public void EveryAppService_RegistersAnAddressInsideTheStacksNetwork()
    {
        var stack = Stack();
        var exported = StackVariables();
        var ipam = Mapping(Mapping(Mapping(stack.Root, "networks"), "default"), "ipam");
        var subnets = ipam is not null && ipam.Children.TryGetValue("config", out var config)
            ? ((YamlSequenceNode)config).Children.Cast<YamlMappingNode>().Select(c => IPNetwork.Parse(Interpolate(Scalar(c, "subnet")!, exported))).ToList()
            : [];
        var subnet = Assert.Single(subnets);

        foreach (var service in stack.Services.Values.Where(s => s.IsBuilt))
        {
            // The services have no networks of their own: all are on the default network.
            Assert.False(service.Node.Children.ContainsKey("networks"), $"{service.Name} names networks of its own");
            Assert.True(service.Environment.TryGetValue("Consul__ServiceNetwork", out var value), $"{service.Name} does not set Consul__ServiceNetwork");
            var network = IPNetwork.Parse(Interpolate(value, exported));
            Assert.True(
                subnet.Contains(network.BaseAddress) && network.PrefixLength >= subnet.PrefixLength,
                $"{service.Name}: Consul__ServiceNetwork {network} is not inside the network's subnet {subnet}");
        }
    }

    [Fact]
    public void ConfigsAndSecrets_NameFilesThatExist_AndEveryOneAServiceUsesIsDeclared()
    {
        var stack = Stack();
        foreach (var kind in new[] { "configs", "secrets" })
        {
            foreach (var (name, definition) in Mapping(stack.Root, kind)?.Children.ToList() ?? [])
            {
                var file = Scalar((YamlMappingNode)definition, "file");
                Assert.True(file is not null, $"{kind} {name} names no file");
                Assert.True(File.Exists(Path.Combine(Repo.Root, file)), $"{kind} {name}: {file} does not exist");
            }
        }

        foreach (var service in stack.Services.Values)
        {
            foreach (var (source, target) in service.Configs)
            {
                Assert.True(stack.ConfigFiles.ContainsKey(source), $"{service.Name} is given the config {source}, which configs: does not declare");
                Assert.Equal(Path.GetFileName(stack.ConfigFiles[source]), Path.GetFileName(target));
            }
        }
    }

    /// <summary>The variables the README's Swarm section exports ("export A=1 B=2"), as the shell has them at its end.</summary>
    private static Dictionary<string, string> StackVariables()
    {
        var variables = Section().Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.StartsWith("export ", StringComparison.Ordinal))
            .SelectMany(l => l["export ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(a => a.Split('=', 2))
            .GroupBy(a => a[0])
            .ToDictionary(g => g.Key, g => g.Last()[1]); // as in the shell, a later export wins
        Assert.NotEmpty(variables);
        return variables;
    }

    private static string Section()
    {
        var readme = File.ReadAllText(Path.Combine(Repo.Root, "README.md")).Replace("\r\n", "\n");
        var start = readme.IndexOf("\n" + ReadmeSection + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"README.md has no '{ReadmeSection}' section");
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        return end < 0 ? readme[start..] : readme[start..end];
    }

    /// <summary>"${NAME:-default}" as docker/cli fills it in: the variable when set and not empty, else the default.</summary>
    private static string Interpolate(string value, IReadOnlyDictionary<string, string> variables) =>
        Variable().Replace(value, m => variables.TryGetValue(m.Groups["name"].Value, out var set) && set.Length > 0 ? set : m.Groups["default"].Value);

    // "8001-8012:8080" gives 8001 to 8012; "9090:9090" gives 9090.
    private static IEnumerable<int> HostPorts(string mapping)
    {
        var host = mapping[..mapping.LastIndexOf(':')];
        var ends = host.Split('-').Select(int.Parse).ToArray();
        return Enumerable.Range(ends[0], ends[^1] - ends[0] + 1);
    }

    private static YamlMappingNode? Mapping(YamlMappingNode? node, string key) =>
        node is not null && node.Children.TryGetValue(key, out var value) ? value as YamlMappingNode : null;

    private static string? Scalar(YamlMappingNode? node, string key) =>
        node is not null && node.Children.TryGetValue(key, out var value) ? (value as YamlScalarNode)?.Value : null;

    [GeneratedRegex(@"\$\{(?<name>[A-Z_]+)(:-(?<default>[^}]*))?\}")]
    private static partial Regex Variable();
}
