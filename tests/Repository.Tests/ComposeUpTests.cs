using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Workshop.Readme;
using Workshop.Testing;

namespace Repository.Tests;

/// <summary>
/// What `docker compose up --build` does with a compose file, done without Docker (none runs here):
/// every service's image built from its Dockerfile in a folder of its own (<see cref="DockerImage"/>:
/// restore from the project files alone, publish from the build context less .dockerignore); the
/// services started in the order their depends_on asks, in the Production environment with the
/// compose file's environment, each waited for until the compose healthcheck passes; then the "Try
/// it" commands of the step's README run against them, and the services stop on SIGTERM as `docker
/// compose down` asks them to. Where Docker differs, the test stands in:
/// each container's port 8080 is a free port on loopback, and an address naming another service
/// (http://accounts:8080, amqp://workshop:workshop-dev@rabbitmq:5672/) names that service's port.
/// </summary>
public sealed partial class ComposeUpTests
{
    private static readonly TimeSpan Healthy = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Build output and databases from the attendee's own runs stay out of the images: an obj folder
    /// restored on the host (another OS, other paths) copied over the container's own breaks its build.
    /// So does the .env file of a step, which holds this machine's settings.
    /// </summary>
    [Theory]
    [InlineData("01-starter/src/Users/obj/project.assets.json", true)]
    [InlineData("03-api-gateway/src/Gateway/bin/Release/net10.0/Gateway.dll", true)]
    [InlineData("01-starter/src/Accounts/data/accounts.db", true)]
    [InlineData("01-starter/tests/IntegrationTests/TestResults/run.trx", true)]
    [InlineData("somewhere/users.db", true)]
    [InlineData("bench/run.sh", true)]
    [InlineData(".git/HEAD", true)]
    [InlineData("03-api-gateway/.env", true)]
    [InlineData("Directory.Build.props", false)]
    [InlineData("01-starter/src/Users/Users.csproj", false)]
    [InlineData("01-starter/src/Users/Data/UsersDb.cs", false)]
    [InlineData("03-api-gateway/src/Gateway/Downstream/DownstreamClients.cs", false)]
    [InlineData("01-starter/src/Users/binding.db.cs", false)]
    public void DockerIgnore_LeavesOutBuildOutputAndDatabases_AndKeepsTheSources(string path, bool excluded) =>
        Assert.Equal(excluded, DockerIgnore.Load(Repo.Root).Excludes(path));

    /// <summary>
    /// Inside compose a service names another by its compose name; started here, it is given that
    /// service's port on loopback, with the user and password of an AMQP address kept.
    /// </summary>
    [Theory]
    [InlineData("http://consul:8500", "http://127.0.0.1:18500")]
    [InlineData("http://accounts:8080", "http://127.0.0.1:18002")]
    [InlineData("amqp://workshop:workshop-dev@rabbitmq:5672/", "amqp://workshop:workshop-dev@127.0.0.1:15672/")]
    [InlineData("amqp://rabbitmq:5672/", "amqp://127.0.0.1:15672/")]
    [InlineData("http://unknown:8080", "http://unknown:8080")]
    [InlineData("/app/data/users.db", "/app/data/users.db")]
    public void ServiceAddresses_NameTheServicesPortOnLoopback(string value, string started)
    {
        var ports = new Dictionary<string, int> { ["consul"] = 18500, ["accounts"] = 18002, ["rabbitmq"] = 15672 };
        Assert.Equal(started, OnLoopback(value, ports));
    }

    /// <summary>
    /// Every image of every step restores the same packages, about 40 MB of them for a service with
    /// SQLite. Downloaded once per image and step, that is gigabytes over a workshop room's network.
    /// The Dockerfiles' cache mount keeps them on the machine: after `docker compose build` at the
    /// root (the README's advice before the workshop), a step's image builds with the network gone.
    /// </summary>
    [Fact]
    public async Task ImageBuilds_ShareOneNuGetCache_SoAfterTheRootBuildAStepBuildsWithoutTheNetwork()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("the image builds stand in for Linux stages, where a cache is mounted at a path");
        }

        using var machine = new DockerBuilder(DockerBuilder.MachinePackages);
        foreach (var name in new ComposeFile(Path.Combine(Repo.Root, "docker-compose.yml")).Services.Where(s => s.Value.IsBuilt).Select(s => s.Key))
        {
            using var built = await Build("docker-compose.yml", name, machine);
        }

        using var offline = machine.Offline();
        using var first = await Build("01-starter/docker-compose.yml", "accounts", offline);
        Assert.True(File.Exists(first.HostPath("/app/Accounts.dll")), "the offline build published no Accounts.dll");

        static Task<DockerImage> Build(string file, string name, DockerBuilder builder)
        {
            var service = new ComposeFile(Path.Combine(Repo.Root, file)).Services[name];
            return DockerImage.BuildAsync(service.BuildContext, service.Dockerfile, service.BuildArgs, builder);
        }
    }

    /// <summary>
    /// Every compose file, each step's and the root one. The steps before the newest carry the trait
    /// Carried=true (see <see cref="LessonAttribute"/>): their services are the newest step's less its
    /// later lessons, built from the same Dockerfiles, so `dotnet test --filter "Carried!=true"` starts
    /// only the newest step and the root file.
    /// </summary>
    public static IEnumerable<TheoryDataRow<string>> ComposeUpFiles =>
        Repo.Steps.Select(s => s.Folder == Repo.Steps[^1].Folder
                ? new TheoryDataRow<string>(Path.Combine(s.Folder, "docker-compose.yml"))
                : new TheoryDataRow<string>(Path.Combine(s.Folder, "docker-compose.yml")).WithTrait("Carried", "true"))
            .Append(new TheoryDataRow<string>("docker-compose.yml"));

    [Theory]
    [MemberData(nameof(ComposeUpFiles))]
    public async Task ComposeUp_BuildsAndStartsEveryService_AndTheReadmeCommandsPrintWhatItShows(string file)
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("the compose healthchecks run bash, as inside the Linux containers");
        }

        var compose = new ComposeFile(Path.Combine(Repo.Root, file));
        var services = StartOrder(compose);
        var ports = services.ToDictionary(s => s.Name, _ => WorkshopFolder.FreePort());
        var images = new List<DockerImage>();
        var running = new List<(ComposeService Service, Process Process, StringBuilder Log)>();
        var standIns = new List<IAsyncDisposable>();
        try
        {
            foreach (var service in services)
            {
                if (!service.IsBuilt)
                {
                    // Infrastructure from an image that cannot run here: its stand-in from the test library.
                    var (standIn, port) = await StartStandInAsync(compose, service, ports);
                    standIns.Add(standIn);
                    ports[service.Name] = port;
                    continue;
                }

                var image = await DockerImage.BuildAsync(service.BuildContext, service.Dockerfile, service.BuildArgs);
                images.Add(image);
                // Built for its own architecture: no native libraries for other platforms (runtimes/<rid>/native).
                Assert.False(
                    Directory.Exists(image.HostPath(image.WorkingDirectory + "/runtimes")),
                    $"{service.Name}'s image carries native libraries for other platforms in {image.WorkingDirectory}/runtimes");
                var (process, log) = Start(service, image, ports);
                running.Add((service, process, log));
                await WaitUntilHealthyAsync(service, process, log, ports[service.Name]);
            }

            // A clean start says nothing above Information: a warning here would greet every attendee.
            foreach (var (service, _, log) in running)
            {
                var complaints = Output(log).Split('\n').Where(line => ComplaintLine().IsMatch(line)).ToList();
                Assert.True(complaints.Count == 0, $"{service.Name} started with warnings or errors:\n{string.Join('\n', complaints)}");
            }

            // The README of the step the file runs: the root file runs the most complete step.
            var step = file.Contains('/') ? Repo.Step(file[..file.IndexOf('/')]) : Repo.Steps[^1];
            var byHostPort = services.ToDictionary(s => s.PortMapping(s.Ports[0])!.Value.Host, s => ports[s.Name]);
            string Rewrite(string word) => DocumentedAddress().Replace(word, m =>
                byHostPort.TryGetValue(int.Parse(m.Groups["port"].Value), out var port) ? $"127.0.0.1:{port}" : m.Value);

            var commands = TryItParser.Parse(File.ReadAllText(step.ReadmePath));
            Assert.NotEmpty(commands);
            foreach (var command in commands)
            {
                var result = await TryItRunner.RunAsync(command, Rewrite, TestContext.Current.CancellationToken);
                Assert.True(result.Passed, $"""
                    {file}: README Try it {command.Number} ("{command.Title}"): {result.Problem}
                    command:  {command.Command}
                    expected: {command.ExpectedOutput}
                    actual:   {result.Output}
                    logs:
                    {string.Join("\n", running.Select(r => $"--- {r.Service.Name}\n{Output(r.Log)}"))}
                    """);
            }

            // `docker compose down` or Ctrl-C: SIGTERM to each container's first process (the exec
            // form of ENTRYPOINT makes that dotnet itself), then SIGKILL after 10 s. Each service
            // stops within them, with exit code 0, as compose reports a clean stop.
            foreach (var (service, process, log) in Enumerable.Reverse(running))
            {
                Signals.Send(process.Id, Signals.Terminate);
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try
                {
                    await process.WaitForExitAsync(grace.Token);
                }
                catch (OperationCanceledException)
                {
                    Assert.Fail($"{service.Name} was still running 10 s after SIGTERM, when Docker kills it:\n{Output(log)}");
                }

                Assert.True(process.ExitCode == 0, $"{service.Name} exited with {process.ExitCode} after SIGTERM:\n{Output(log)}");
            }
        }
        finally
        {
            foreach (var (_, process, _) in running)
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync();
                }

                process.Dispose();
            }

            images.ForEach(image => image.Dispose());
            foreach (var standIn in standIns)
            {
                await standIn.DisposeAsync();
            }
        }
    }

    /// <summary>The stand-ins this test can play an image service with, on a free port.</summary>
    private static async Task<(IAsyncDisposable StandIn, int Port)> StartStandInAsync(ComposeFile compose, ComposeService service, IReadOnlyDictionary<string, int> ports)
    {
        switch (service.Image?.Split(':')[0])
        {
            case "hashicorp/consul":
                var consul = await Workshop.Testing.Consul.ConsulStandIn.StartAsync();
                return (consul, consul.Port);
            case "jaegertracing/jaeger":
                // Jaeger's part the services meet: its OTLP/HTTP receiver.
                var jaeger = await Workshop.Testing.Otlp.OtlpStandIn.StartAsync();
                return (jaeger, jaeger.BaseAddress.Port);
            case "prom/prometheus":
                // The real program, on the configuration the file mounts, scraping the services started here.
                var prometheus = await ComposePrometheus.StartAsync(compose, service, ports);
                return (prometheus, prometheus.BaseAddress.Port);
            case "rabbitmq":
                // The real broker, with the user the image creates from its environment: the services'
                // amqp:// addresses carry that user and password.
                var rabbit = await Workshop.Testing.RabbitMq.RabbitMqServer.StartAsync();
                try
                {
                    var user = service.Environment.GetValueOrDefault("RABBITMQ_DEFAULT_USER");
                    if (user is not null)
                    {
                        Assert.True(
                            service.Environment.TryGetValue("RABBITMQ_DEFAULT_PASS", out var password),
                            $"{service.Name} sets RABBITMQ_DEFAULT_USER ({user}) without RABBITMQ_DEFAULT_PASS: the services' amqp:// addresses need its password");
                        await rabbit.AddUserAsync(user, password);
                    }
                }
                catch
                {
                    await rabbit.DisposeAsync();
                    throw;
                }

                return (rabbit, rabbit.Port);
            case "grafana/grafana":
                // Nothing calls Grafana: not the services, not the README's commands. What it is given
                // (its data sources, the dashboard's queries) is checked against a real Prometheus by
                // the step's MonitoringTests.
                return (new NothingToStop(), WorkshopFolder.FreePort());
            default:
                Assert.Fail($"{service.Name} runs the image {service.Image}, which this test has no stand-in for; teach it one");
                return default;
        }
    }

    private sealed class NothingToStop : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>
    /// Every service, each after those it depends on, as compose starts them; and each built service
    /// after the image services its environment names, though it need not wait for them (users and
    /// accounts publish to rabbitmq when it is there, every service exports to jaeger). In compose
    /// those start alongside and are found by name whenever they run; here a service's addresses are
    /// rewritten once, when it starts (<see cref="OnLoopback"/>), and a stand-in's port is known only
    /// once it runs. The built services' ports are chosen up front, so they need no such order.
    /// </summary>
    private static List<ComposeService> StartOrder(ComposeFile compose)
    {
        var order = new List<ComposeService>();
        void Visit(ComposeService service, HashSet<string> path)
        {
            if (order.Contains(service))
            {
                return;
            }

            Assert.True(path.Add(service.Name), $"depends_on goes round in a circle through {service.Name}");
            var named = service.IsBuilt
                ? service.Environment.Values.SelectMany(v => ServiceAddress().Matches(v)).Select(m => m.Groups["service"].Value)
                    .Where(name => compose.Services.TryGetValue(name, out var other) && !other.IsBuilt)
                : [];
            foreach (var dependency in service.DependsOn.Keys.Concat(named).Distinct())
            {
                Assert.True(compose.Services.TryGetValue(dependency, out var other), $"{service.Name} depends on {dependency}, which is not a service");
                Visit(other, path);
            }

            path.Remove(service.Name);
            order.Add(service);
        }

        foreach (var service in compose.Services.Values)
        {
            Visit(service, []);
        }

        return order;
    }

    private static (Process Process, StringBuilder Log) Start(ComposeService service, DockerImage image, IReadOnlyDictionary<string, int> ports)
    {
        // A named volume mounted on a folder the image lacks is created owned by root, and the
        // service, which runs as the app user, could not write its database there.
        foreach (var (volume, target) in service.Volumes)
        {
            Assert.True(
                image.OwnedFolders.GetValueOrDefault(target) == image.User,
                $"{service.Name} mounts {volume} at {target}, but its image does not create {target} owned by its user ({image.User}): add RUN mkdir -p {target} && chown \"$APP_UID\" {target}");
        }

        Assert.Equal("dotnet", image.Entrypoint[0]);
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = image.HostPath(image.WorkingDirectory),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in image.Entrypoint.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        // The container's environment: the image's, then the compose file's, and no environment
        // name (Production). Paths inside the image are paths in the image's folder; the port of a
        // service is its port here.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k == "DOTNET_ENVIRONMENT").ToList())
        {
            start.Environment.Remove(key);
        }

        foreach (var (key, value) in image.Environment.Concat(service.Environment))
        {
            start.Environment[key] = value.StartsWith('/') ? image.HostPath(value) : OnLoopback(value, ports);
        }

        // The network the containers share is loopback here: a service registers its address in it.
        if (service.Environment.ContainsKey("Consul__ServiceNetwork"))
        {
            start.Environment["Consul__ServiceNetwork"] = "127.0.0.0/8";
        }

        start.Environment["ASPNETCORE_HTTP_PORTS"] = ports[service.Name].ToString();
        foreach (var (key, value) in LoadedMachine.Environment)
        {
            start.Environment[key] = value;
        }

        var log = new StringBuilder();
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, log);
    }

    /// <summary>
    /// An environment value naming services by their compose names (http://consul:8500,
    /// amqp://workshop:workshop-dev@rabbitmq:5672/), with each such address on that service's port on
    /// loopback instead: the scheme, the credentials and the path stay. Docker's DNS resolves a name
    /// whenever it is asked; here the value is what the service starts with, so what it names must
    /// have its port by then (see <see cref="StartOrder"/>). A name of no service stays as it is.
    /// </summary>
    internal static string OnLoopback(string value, IReadOnlyDictionary<string, int> ports) =>
        ServiceAddress().Replace(value, m => ports.TryGetValue(m.Groups["service"].Value, out var port)
            ? $"{m.Groups["scheme"].Value}://{m.Groups["credentials"].Value}127.0.0.1:{port}"
            : m.Value);

    private static async Task WaitUntilHealthyAsync(ComposeService service, Process process, StringBuilder log, int port)
    {
        var healthcheck = service.HealthcheckTest[3].Replace("/8080", $"/{port}");
        var waited = Stopwatch.StartNew();
        while ((await Shell.RunAsync("bash", ["-c", healthcheck], TimeSpan.FromSeconds(10))).ExitCode != 0)
        {
            Assert.False(process.HasExited, $"{service.Name} exited with {(process.HasExited ? process.ExitCode : 0)} before its healthcheck passed:\n{Output(log)}");
            Assert.True(waited.Elapsed < Healthy, $"{service.Name}'s healthcheck did not pass within {Healthy.TotalSeconds} s:\n{Output(log)}");
            await Task.Delay(250);
        }
    }

    private static string Output(StringBuilder log)
    {
        lock (log)
        {
            return log.ToString();
        }
    }

    /// <summary>The console logger's level marks: "12:00:00 warn: Category[0] ...".</summary>
    [GeneratedRegex(@"\b(warn|fail|crit): ")]
    private static partial Regex ComplaintLine();

    [GeneratedRegex(@"localhost:(?<port>\d{4,5})")]
    private static partial Regex DocumentedAddress();

    // A service's address inside compose: one of ours on 8080, or infrastructure on its own port
    // (consul:8500), over HTTP or AMQP; an AMQP address carries its user and password (user:password@).
    [GeneratedRegex(@"(?<scheme>http|amqp)://(?<credentials>[^@/\s]+@)?(?<service>[a-z][a-z0-9-]*):\d+")]
    private static partial Regex ServiceAddress();
}
