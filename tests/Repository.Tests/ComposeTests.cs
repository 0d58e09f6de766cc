using System.Text.RegularExpressions;

namespace Repository.Tests;

/// <summary>
/// The compose files cannot be started here (no Docker engine), so they are checked offline:
/// docker-compose's own validation, and the build contexts, Dockerfiles, ports and environment keys
/// against the projects and the options the services really bind. <see cref="ComposeUpTests"/> goes on
/// to build and start what each file describes.
/// </summary>
public sealed partial class ComposeTests
{
    /// <summary>Host ports from the workshop's port table: the same in every step.</summary>
    public static readonly IReadOnlyDictionary<string, int> HostPorts = new Dictionary<string, int>
    {
        ["gateway"] = 8000, ["users"] = 8001, ["accounts"] = 8002, ["reporting"] = 8003,
    };

    /// <summary>Every step's compose file, and the root one that runs the most complete step.</summary>
    public static TheoryData<string> ComposeFiles => new(
        Repo.Steps.Select(s => Path.Combine(s.Folder, "docker-compose.yml")).Append("docker-compose.yml"));

    [Theory]
    [MemberData(nameof(ComposeFiles))]
    public async Task ComposeFile_PassesDockerComposeValidation(string file)
    {
        var path = Path.Combine(Repo.Root, file);
        ProgramResult result;
        try
        {
            // With its override file, if it has one, as `docker compose up` reads them.
            var files = new ComposeFile(path).OverridePath is { } overridePath ? new[] { "-f", path, "-f", overridePath } : ["-f", path];
            result = await Shell.RunAsync("docker-compose", [.. files, "config", "-q"], TimeSpan.FromMinutes(1), Path.GetDirectoryName(path)!);
        }
        catch (System.ComponentModel.Win32Exception) when (Environment.GetEnvironmentVariable("CI") is null)
        {
            Assert.Skip("docker-compose is not installed (CI installs it)");
            return;
        }

        Assert.True(result.ExitCode == 0, $"docker-compose -f {file} config -q: {result.Errors}");
    }

    [Theory]
    [MemberData(nameof(ComposeFiles))]
    public void BuiltServices_PointAtTheirOwnDockerfileAndStep(string file)
    {
        var compose = new ComposeFile(Path.Combine(Repo.Root, file));
        var step = ExpectedStep(file);
        Assert.Contains(compose.Services.Values, s => s.IsBuilt);

        foreach (var service in compose.Services.Values.Where(s => s.IsBuilt))
        {
            // The shared build settings live at the root, so every image builds from the root.
            Assert.Equal(Repo.Root.TrimEnd('/'), service.BuildContext.TrimEnd('/'));
            Assert.True(File.Exists(service.Dockerfile), $"{service.Name}: no Dockerfile at {service.Dockerfile}");
            Assert.Equal(step, service.BuildArgs.GetValueOrDefault("STEP"));

            var projectDir = Path.GetDirectoryName(service.Dockerfile)!;
            Assert.StartsWith(Path.Combine(Repo.Root, step, "src") + Path.DirectorySeparatorChar, projectDir + Path.DirectorySeparatorChar);
            var project = Path.GetFileName(projectDir);
            Assert.True(File.Exists(Path.Combine(projectDir, project + ".csproj")), $"{service.Name}: no {project}.csproj next to its Dockerfile");
            Assert.Equal(project.ToLowerInvariant(), service.Name);
        }
    }

    [Theory]
    [MemberData(nameof(ComposeFiles))]
    public void Dockerfiles_CopyWhatExists_RunAsNonRoot_AndStartTheirProject(string file)
    {
        var compose = new ComposeFile(Path.Combine(Repo.Root, file));
        var step = ExpectedStep(file);
        foreach (var service in compose.Services.Values.Where(s => s.IsBuilt))
        {
            var dockerfile = File.ReadAllText(service.Dockerfile);
            var project = Path.GetFileName(Path.GetDirectoryName(service.Dockerfile)!);

            foreach (Match copy in CopyInstruction().Matches(dockerfile))
            {
                foreach (var source in copy.Groups["sources"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    var path = Path.Combine(service.BuildContext, source.Replace("${STEP}", step));
                    Assert.True(File.Exists(path) || Directory.Exists(path), $"{service.Name}: the Dockerfile copies {source}, which does not exist");
                }
            }

            Assert.Matches(@"(?m)^FROM mcr\.microsoft\.com/dotnet/sdk:10\.0 AS build$", dockerfile);
            Assert.Matches(@"(?m)^FROM mcr\.microsoft\.com/dotnet/aspnet:10\.0$", dockerfile);
            Assert.Matches(@"(?m)^USER \$APP_UID$", dockerfile);
            Assert.Matches(@"(?m)^EXPOSE 8080$", dockerfile);
            Assert.Contains($"ENTRYPOINT [\"dotnet\", \"{project}.dll\"]", dockerfile);
        }
    }

    [Theory]
    [MemberData(nameof(ComposeFiles))]
    public void Ports_AreTheDocumentedHostPorts_OnContainerPort8080(string file)
    {
        var compose = new ComposeFile(Path.Combine(Repo.Root, file));
        foreach (var service in compose.Services.Values.Where(s => s.IsBuilt))
        {
            var mapping = Assert.Single(service.Ports);
            Assert.Equal((HostPorts[service.Name], 8080), service.PortMapping(mapping));
            Assert.Contains($"${{{service.Name.ToUpperInvariant()}_PORT:-", mapping);
        }
    }

    [Theory]
    [MemberData(nameof(ComposeFiles))]
    public void EveryScaleTheFileShows_FindsAHostPortForEachInstance(string file)
    {
        // The file's own comments show how to scale it ("--scale accounts=3 --scale users=2"). Docker
        // gives each instance one free port of its service's range; services may share ports of
        // ranges that overlap, so the ports of all the scaled services together must be enough.
        var path = Path.Combine(Repo.Root, file);
        var compose = new ComposeFile(path);
        foreach (var command in File.ReadLines(path).Where(l => l.StartsWith('#') && l.Contains("--scale ", StringComparison.Ordinal)))
        {
            var scaled = ScaleOption().Matches(command).ToDictionary(m => m.Groups["service"].Value, m => int.Parse(m.Groups["count"].Value));
            var ports = new HashSet<int>();
            foreach (var (name, count) in scaled)
            {
                Assert.True(compose.Services.ContainsKey(name), $"{file}: '{command.Trim()}' scales {name}, which the file does not have");
                var range = PortRange().Match(Assert.Single(compose.Services[name].Ports));
                Assert.True(range.Success, $"{file}: {name} is scaled to {count} by '{command.Trim()}', but publishes one fixed port, which a second instance cannot take");
                var (first, last) = (int.Parse(range.Groups["first"].Value), int.Parse(range.Groups["last"].Value));
                Assert.True(last - first + 1 >= count, $"{file}: {name}'s range {first}-{last} has fewer than {count} ports");
                ports.UnionWith(Enumerable.Range(first, last - first + 1));
            }

            Assert.True(ports.Count >= scaled.Values.Sum(), $"{file}: '{command.Trim()}' starts {scaled.Values.Sum()} instances on {ports.Count} host ports");
        }
    }

    [Theory]
    [MemberData(nameof(ComposeFiles))]
    public void EnvironmentKeys_AreOptionsTheServicesBind(string file)
    {
        var compose = new ComposeFile(Path.Combine(Repo.Root, file));
        foreach (var service in compose.Services.Values.Where(s => s.IsBuilt))
        {
            var options = new ServiceOptions(Path.GetDirectoryName(service.Dockerfile)!, Repo.Configuration);
            var unbound = service.Environment.Keys
                .Where(key => !key.StartsWith("ASPNETCORE_", StringComparison.Ordinal) && !key.StartsWith("DOTNET_", StringComparison.Ordinal) && !key.StartsWith("OTEL_", StringComparison.Ordinal))
                .Where(key => !options.Binds(key))
                .ToList();
            Assert.True(unbound.Count == 0, $"{service.Name}: environment keys that no option of the service reads: {string.Join(", ", unbound)} (sections it binds: {string.Join(", ", options.Sections.Keys)})");
        }
    }

    /// <summary>
    /// Inside compose a service reaches another, or the infrastructure, by its service name on the
    /// container port, never localhost (the container itself) or a host port, and waits until that
    /// one is healthy.
    /// </summary>
    [Theory]
    [MemberData(nameof(ComposeFiles))]
    public void ServiceAddresses_NameAnotherServiceOnItsContainerPort_AndWaitUntilItIsHealthy(string file)
    {
        var compose = new ComposeFile(Path.Combine(Repo.Root, file));
        foreach (var service in compose.Services.Values.Where(s => s.IsBuilt))
        {
            foreach (var (key, value) in service.Environment)
            {
                if (!Uri.TryCreate(value, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
                {
                    continue;
                }

                var where = $"{service.Name}: {key}={value}";
                Assert.False(address.IsLoopback, $"{where}: inside a container, {address.Host} is that container itself; name the service");
                Assert.True(compose.Services.TryGetValue(address.Host, out var target), $"{where} names no service of {file}");
                // The workshop's services listen on 8080 inside compose; infrastructure on the container
                // ports it publishes (consul:8500; jaeger:16686, 4317 and 4318).
                var listens = target.IsBuilt ? [8080] : target.Ports.Select(p => target.PortMapping(p)?.Container ?? 0).ToList();
                Assert.True(listens.Contains(address.Port), $"{where}: inside compose {address.Host} listens on {string.Join(", ", listens)}, whatever its host port");
                // Except the trace collector: OpenTelemetry's exporter drops what it cannot deliver and
                // the service serves on (step 08), so nothing waits for Jaeger.
                if (key.StartsWith("OTEL_", StringComparison.Ordinal))
                {
                    continue;
                }

                Assert.True(
                    service.DependsOn.GetValueOrDefault(address.Host) == "service_healthy",
                    $"{where}: {service.Name} should wait for {address.Host} (depends_on: {address.Host}: condition: service_healthy)");
            }
        }
    }

    [Theory]
    [MemberData(nameof(ComposeFiles))]
    public void Images_ArePinned(string file)
    {
        var compose = new ComposeFile(Path.Combine(Repo.Root, file));
        foreach (var service in compose.Services.Values.Where(s => !s.IsBuilt))
        {
            Assert.Matches(@"^[\w./-]+:[\w.-]+$", service.Image ?? "");
            Assert.DoesNotContain(":latest", service.Image);
        }
    }

    /// <summary>The healthcheck command of every .NET service, run for real with bash against a listener on loopback.</summary>
    [Theory]
    [MemberData(nameof(ComposeFiles))]
    public async Task Healthchecks_WorkWithoutCurl_AgainstAnHttpServer(string file)
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("the healthcheck runs bash inside a Linux container");
        }

        var compose = new ComposeFile(Path.Combine(Repo.Root, file));
        foreach (var service in compose.Services.Values.Where(s => s.IsBuilt))
        {
            Assert.NotNull(service.Healthcheck);
            var test = service.HealthcheckTest;
            Assert.Equal(["CMD", "bash", "-c"], test.Take(3));
            Assert.DoesNotContain("curl", test[3]);
            Assert.DoesNotContain("wget", test[3]);

            await using var healthy = await HealthServer.StartAsync("HTTP/1.1 200 OK");
            Assert.Equal(0, await RunBashAsync(test[3].Replace("/8080", $"/{healthy.Port}")));

            await using var unhealthy = await HealthServer.StartAsync("HTTP/1.1 503 Service Unavailable");
            Assert.NotEqual(0, await RunBashAsync(test[3].Replace("/8080", $"/{unhealthy.Port}")));
        }
    }

    private static string ExpectedStep(string file) =>
        file.Contains('/') ? file[..file.IndexOf('/')] : Repo.Steps[^1].Folder;

    private static async Task<int> RunBashAsync(string script) =>
        (await Shell.RunAsync("bash", ["-c", script], TimeSpan.FromSeconds(10))).ExitCode;

    [GeneratedRegex(@"--scale (?<service>[a-z]+)=(?<count>\d+)")]
    private static partial Regex ScaleOption();

    // "${ACCOUNTS_PORT:-8002}-${ACCOUNTS_PORT_LAST:-8012}:8080"
    [GeneratedRegex(@"^\$\{[A-Z_]+:-(?<first>\d+)\}-\$\{[A-Z_]+:-(?<last>\d+)\}:8080$")]
    private static partial Regex PortRange();

    [GeneratedRegex(@"(?m)^COPY (?!--from)(?<sources>.+) \S+$")]
    private static partial Regex CopyInstruction();
}
