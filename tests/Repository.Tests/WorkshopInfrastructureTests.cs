using System.Net;
using Workshop.Steps;

namespace Repository.Tests;

/// <summary>
/// `workshop up` and a step's infrastructure (the image services of its docker-compose.yml, with an
/// <c>x-workshop</c> key saying how to run each without Docker). The steps are made up, one per test,
/// on free ports: nginx stands in for an installed program (CI installs it for the benchmark), and a
/// program that exists nowhere for one that is not installed.
/// </summary>
public sealed class WorkshopInfrastructureTests
{
    private static readonly TimeSpan Starting = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Up_RunsInstalledInfrastructure_StopsPausesAndRestartsIt_AndGoesOnWithoutWhatTheStepCanMiss()
    {
        Tools.Require("apt-get install nginx-light", "nginx");
        var port = WorkshopFolder.FreePort();
        var tracingPort = WorkshopFolder.FreePort();
        var metricsPort = WorkshopFolder.FreePort();
        using var folder = WorkshopFolder.Create("infra", new Dictionary<string, string>
        {
            ["docker-compose.yml"] = $$"""
                services:
                {{WebService(port, "nginx -p . -c nginx.conf -e stderr")}}
                  tracing:
                    image: jaegertracing/jaeger:2.15.0
                    ports:
                      - "{{tracingPort}}:16686"
                    x-workshop:
                      run: workshop-test-no-such-program --all-in-one
                      without: its traces go nowhere
                  metrics:
                    image: prom/prometheus:v3.13.0
                    ports:
                      - "{{metricsPort}}:9090"
                    x-workshop:
                      run: workshop-test-no-such-prometheus
                      without: nothing is scraped
                      install: install it with your package manager, and workshop up runs it
                """,
            ["nginx.conf"] = NginxConfig(port),
        });

        await using var up = WorkshopCommand.Start(Environment(folder), "up", "01");
        await up.WaitForOutputAsync("(Ctrl-C stops every service)", Starting);

        Assert.Contains($"[warn] tracing is not running and `workshop-test-no-such-program` is not installed, so {folder.Step} runs without it: its traces go nowhere. To add it: docker compose -f {folder.Step}/docker-compose.yml up -d tracing", up.Output);
        // Where the compose file says how to install the program, that is the advice instead.
        Assert.Contains($"[warn] metrics is not running and `workshop-test-no-such-prometheus` is not installed, so {folder.Step} runs without it: nothing is scraped. To add it: install it with your package manager, and workshop up runs it", up.Output);
        Assert.Matches(@"\[ok\]   web is ready \(\d+\.\d s\)", up.Output);
        Assert.Matches($@"\n  web +http://localhost:{port} +runs here, from nginx\n", up.Output);
        Assert.Matches($@"\n  tracing +localhost:{tracingPort} +not running: the step runs without it\n", up.Output);
        // Its log lines carry its name, as the step's own services' do.
        Assert.Matches(@"\nweb +\| .*nginx/", up.Output);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var ready = $"http://localhost:{port}/ready";
        Assert.Equal("ready", (await http.GetStringAsync(ready)).Trim());

        await up.TypeAsync("pause web");
        await up.WaitForOutputAsync("[ok]   web is paused", TimeSpan.FromSeconds(10));
        await Assert.ThrowsAsync<TaskCanceledException>(() => http.GetStringAsync(ready));

        await up.TypeAsync("resume web");
        await up.WaitForOutputAsync("[ok]   web runs again", TimeSpan.FromSeconds(10));
        Assert.Equal("ready", (await http.GetStringAsync(ready)).Trim());

        await up.TypeAsync("stop web");
        await up.WaitForOutputAsync("[ok]   web stopped; the other services keep running.", TimeSpan.FromSeconds(20));
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync(ready));
        Assert.True(Ports.IsFree(port), "nginx's workers let go of its port too");

        await up.TypeAsync("start web");
        await up.WaitForOutputAsync("[ok]   web is ready", TimeSpan.FromSeconds(20), times: 2);
        Assert.Equal("ready", (await http.GetStringAsync(ready)).Trim());

        await up.TypeAsync("stop tracing");
        await up.WaitForOutputAsync("[FAIL] tracing was not started by workshop up, so it cannot stop it here (not running: the step runs without it)", TimeSpan.FromSeconds(10));

        up.Interrupt();
        await up.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, up.ExitCode);
        Assert.Contains($"Stopped {folder.Step}.", up.Output);
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync(ready));
        Assert.True(Ports.IsFree(port), "nothing of nginx is left holding its port");
    }

    /// <summary>Many programs start from a wrapper script that runs the real one as its child (rabbitmq-server does).</summary>
    [Fact]
    public async Task Up_StopsWhatAWrapperScriptStarted_WhenTheScriptItselfWouldLeaveItRunning()
    {
        Tools.Require("apt-get install nginx-light", "nginx");
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("the wrapper is a POSIX shell script");
            return;
        }

        var port = WorkshopFolder.FreePort();
        using var folder = WorkshopFolder.Create("infra", new Dictionary<string, string>
        {
            ["docker-compose.yml"] = $"services:\n{WebService(port, "./start-web.sh")}\n",
            ["nginx.conf"] = NginxConfig(port),
            // On SIGTERM the shell ends at once and does not pass the signal on: nginx would stay behind.
            ["start-web.sh"] = "#!/bin/sh\nnginx -p . -c nginx.conf -e stderr &\nwait\n",
        });
        File.SetUnixFileMode(Path.Combine(folder.Root, folder.Step, "start-web.sh"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        await using var up = WorkshopCommand.Start(Environment(folder), "up", "01");
        await up.WaitForOutputAsync("(Ctrl-C stops every service)", Starting);
        Assert.Contains($"Starting web ({Path.Combine(folder.Root, folder.Step, "start-web.sh")}) on http://localhost:{port} ...", up.Output);

        await up.TypeAsync("stop web");
        await up.WaitForOutputAsync("[ok]   web stopped", TimeSpan.FromSeconds(20));
        Assert.True(Ports.IsFree(port), "stop ends nginx too, not only the script that started it");

        await up.TypeAsync("start web");
        await up.WaitForOutputAsync("[ok]   web is ready", TimeSpan.FromSeconds(20), times: 2);
        up.Interrupt();
        await up.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.True(Ports.IsFree(port), "Ctrl-C ends nginx too, not only the script that started it");
    }

    [Fact]
    public async Task Up_UsesInfrastructureThatAlreadyRuns_AndLeavesItRunning()
    {
        // As if started with docker compose: it answers on its port, and workshop cannot run it itself.
        await using var running = await HealthServer.StartAsync("HTTP/1.1 200 OK", port: WorkshopFolder.FreePort());
        using var folder = WorkshopFolder.Create("infra", new Dictionary<string, string>
        {
            ["docker-compose.yml"] = RegistryOnly(running.Port),
        });

        await using var up = WorkshopCommand.Start(Environment(folder), "up", "01");
        await up.WaitForOutputAsync("(Ctrl-C stops every service)", Starting);

        Assert.Contains($"[ok]   registry already runs on http://localhost:{running.Port}: the step uses it", up.Output);
        Assert.Matches($@"\n  registry +http://localhost:{running.Port} +runs elsewhere: docker compose, or started by hand\n", up.Output);

        await up.TypeAsync("stop registry");
        await up.WaitForOutputAsync("[FAIL] registry was not started by workshop up, so it cannot stop it here (runs elsewhere: docker compose, or started by hand)", TimeSpan.FromSeconds(10));

        up.Interrupt();
        await up.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, up.ExitCode);
        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://localhost:{running.Port}/health")).StatusCode);
    }

    [Fact]
    public async Task Up_RefusesWithOneLine_NamingTheCommand_WhenInfrastructureTheStepNeedsIsNeitherRunningNorInstalled()
    {
        var (exitCode, errors) = await UpWithOnlyARegistryAsync(WorkshopFolder.FreePort());

        Assert.Equal(1, exitCode);
        Assert.Equal(
            "workshop: 01-infra needs registry, which is not running: install `workshop-test-no-such-program` (workshop up then runs it), or start it with `docker compose -f 01-infra/docker-compose.yml up -d registry`, then run `./workshop up 01` again",
            errors);
    }

    [Fact]
    public async Task Up_RefusesWithOneLine_WhenSomethingElseHoldsTheInfrastructurePort()
    {
        // Takes connections and never answers.
        using var squatter = new HeldPort();
        var port = squatter.Port;
        var (exitCode, errors) = await UpWithOnlyARegistryAsync(port);

        Assert.Equal(1, exitCode);
        Assert.Equal(
            $"workshop: port {port} (registry) is already in use, but what holds it does not answer http://localhost:{port}/health: stop what holds it (find it with `lsof -i :{port}`)",
            errors);
    }

    [Fact]
    public async Task Up_RefusesWithOneLine_WhenARunLineCannotBeRead()
    {
        using var folder = WorkshopFolder.Create("infra", new Dictionary<string, string>
        {
            ["docker-compose.yml"] = RegistryOnly(WorkshopFolder.FreePort()).Replace("agent -dev", "agent -node 'dev"),
        });

        await using var up = WorkshopCommand.Start(Environment(folder), "up", "01");
        await up.WaitForExitAsync(Starting);

        Assert.Equal(1, up.ExitCode);
        Assert.Equal("workshop: 01-infra/docker-compose.yml: the x-workshop run line of registry cannot be read: unterminated single quote", up.Errors.Trim());
    }

    [Fact]
    public async Task Doctor_SaysWhichInfrastructureProgramsAreInstalled()
    {
        Tools.Require("apt-get install nginx-light", "nginx");
        using var folder = WorkshopFolder.Create("infra", new Dictionary<string, string>
        {
            ["docker-compose.yml"] = """
                services:
                  web:
                    image: nginx:1.27
                    ports:
                      - "80:80"
                    x-workshop:
                      run: nginx -p . -c nginx.conf
                  registry:
                    image: hashicorp/consul:1.22.5
                    x-workshop:
                      run: workshop-test-no-such-program agent -dev
                  grafana:
                    image: grafana/grafana:12.0.0
                """,
        });

        var doctor = WorkshopCommand.Start(Environment(folder), "doctor");
        await doctor.WaitForExitAsync(Starting);

        Assert.Matches(@"\[ok\]   nginx installed \(/\S+/nginx\): `workshop up` runs it for step 01\n", doctor.Output);
        Assert.Contains("[warn] workshop-test-no-such-program not installed: fine with Docker; install it to run step 01 without Docker", doctor.Output);
        Assert.Contains("[warn] grafana: only docker compose runs it (step 01)", doctor.Output);
    }

    /// <summary>`workshop up` of a step whose only service is a registry it cannot do without and cannot run, to its end.</summary>
    private static async Task<(int ExitCode, string Errors)> UpWithOnlyARegistryAsync(int port)
    {
        using var folder = WorkshopFolder.Create("infra", new Dictionary<string, string>
        {
            ["docker-compose.yml"] = RegistryOnly(port),
        });

        await using var up = WorkshopCommand.Start(Environment(folder), "up", "01");
        await up.WaitForExitAsync(Starting);
        return (up.ExitCode, up.Errors.Trim());
    }

    /// <summary>The compose file of a step whose only service is a registry it cannot do without, and whose program is installed nowhere.</summary>
    private static string RegistryOnly(int port) => $$"""
        services:
          registry:
            image: hashicorp/consul:1.22.5
            ports:
              - "{{port}}:8500"
            x-workshop:
              run: workshop-test-no-such-program agent -dev
              ready: http://localhost:{{port}}/health
        """;

    private static Dictionary<string, string> Environment(WorkshopFolder folder) => new()
    {
        ["WORKSHOP_ROOT"] = folder.Root,
        ["PATH"] = Tools.PathWithSystemFolders(),
    };

    /// <summary>The compose entry of a web server that nginx.conf (<see cref="NginxConfig"/>) sets up, indented as a service.</summary>
    private static string WebService(int port, string run) => $$"""
          web:
            image: nginx:1.27
            ports:
              - "{{port}}:80"
            x-workshop:
              run: {{run}}
              ready: http://localhost:{{port}}/ready
        """;

    /// <summary>nginx as an unprivileged user runs it: everything it writes stays in the step folder.</summary>
    private static string NginxConfig(int port) => $$"""
        daemon off;
        worker_processes 2;
        pid nginx.pid;
        error_log stderr notice;
        events { worker_connections 64; }
        http {
          access_log off;
          client_body_temp_path temp;
          proxy_temp_path temp;
          fastcgi_temp_path temp;
          uwsgi_temp_path temp;
          scgi_temp_path temp;
          server {
            listen 127.0.0.1:{{port}};
            location = /ready { return 200 "ready\n"; }
          }
        }
        """;
}
