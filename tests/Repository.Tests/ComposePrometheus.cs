using Workshop.Testing.Prometheus;
using YamlDotNet.RepresentationModel;

namespace Repository.Tests;

/// <summary>
/// A compose file's Prometheus (the prom/prometheus image), played by the installed Prometheus with
/// the configuration compose mounts into the container, and Docker's part done here: a target named
/// by its compose service (<c>gateway:8080</c>) and a lookup of a service's name in compose's DNS
/// (<c>dns_sd_configs</c>) become that service's port on loopback, one instance each as this test
/// runs them.
/// </summary>
internal static class ComposePrometheus
{
    private const string ConfigFile = "/etc/prometheus/prometheus.yml";

    public static Task<PrometheusServer> StartAsync(ComposeFile compose, ComposeService service, IReadOnlyDictionary<string, int> ports)
    {
        var command = service.Node.Children.TryGetValue("command", out var c) ? ((YamlSequenceNode)c).Children.Select(n => ((YamlScalarNode)n).Value!).ToList() : [];
        Assert.Contains($"--config.file={ConfigFile}", command);
        // The configuration folder mounted (a step's file), or each file given as a config (the root
        // file, which is also a Swarm stack).
        string[] given;
        if (service.Volumes.Any(v => v.Target == "/etc/prometheus"))
        {
            var (source, _) = Assert.Single(service.Volumes, v => v.Target == "/etc/prometheus");
            given = Directory.GetFiles(Path.GetFullPath(Path.Combine(compose.Directory, source)));
        }
        else
        {
            var configs = service.Configs.Where(c => c.Target.StartsWith("/etc/prometheus/", StringComparison.Ordinal)).ToList();
            Assert.Contains(configs, c => c.Target == ConfigFile);
            given = [.. configs.Select(c =>
            {
                var file = compose.ConfigFiles[c.Source];
                Assert.Equal(Path.GetFileName(c.Target), Path.GetFileName(file));
                return file;
            })];
        }

        var yaml = new YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(Assert.Single(given, f => Path.GetFileName(f) == "prometheus.yml"))));
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        foreach (var job in ((YamlSequenceNode)root["scrape_configs"]).Children.Cast<YamlMappingNode>())
        {
            var targets = new List<string>();
            if (job.Children.TryGetValue("static_configs", out var statics))
            {
                targets.AddRange(((YamlSequenceNode)statics).Children.Cast<YamlMappingNode>()
                    .SelectMany(s => ((YamlSequenceNode)s["targets"]).Children.Select(t => OnLoopback(((YamlScalarNode)t).Value!))));
                job.Children.Remove("static_configs");
            }

            if (job.Children.TryGetValue("dns_sd_configs", out var lookups))
            {
                foreach (var lookup in ((YamlSequenceNode)lookups).Children.Cast<YamlMappingNode>())
                {
                    var port = ((YamlScalarNode)lookup["port"]).Value!;
                    targets.AddRange(((YamlSequenceNode)lookup["names"]).Children.Select(n => OnLoopback($"{((YamlScalarNode)n).Value}:{port}")));
                }

                job.Children.Remove("dns_sd_configs");
            }

            job.Children.Add("static_configs", new YamlSequenceNode(new YamlMappingNode(
                "targets", new YamlSequenceNode(targets.Select(t => new YamlScalarNode(t) { Style = YamlDotNet.Core.ScalarStyle.DoubleQuoted })))));
        }

        using var configuration = new StringWriter();
        yaml.Save(configuration, assignAnchors: false);
        var files = given.Where(f => Path.GetFileName(f) != "prometheus.yml").ToArray();
        return PrometheusServer.StartAsync(configuration.ToString(), files);

        // "users:8080": a service of the file, on the port the workshop's services listen on inside compose.
        string OnLoopback(string target)
        {
            var (name, port) = (target[..target.LastIndexOf(':')], target[(target.LastIndexOf(':') + 1)..]);
            Assert.True(compose.Services.TryGetValue(name, out var scraped), $"prometheus scrapes {target}, but {name} is no service of {compose.Path}");
            Assert.True(scraped.IsBuilt && port == "8080", $"prometheus scrapes {target}, but {name} listens on 8080 inside compose");
            return $"127.0.0.1:{ports[name]}";
        }
    }
}
