namespace Repository.Tests;

/// <summary>
/// `workshop up` and a service of the step that runs but is not ready: its /health answers 503, as
/// step 10's reporting does while there is no RabbitMQ. It counts as started, with a warning that says
/// what its /health/ready names as not healthy, and the services after it start. The step is made up:
/// three small web projects standing in for the services, on free ports.
/// </summary>
public sealed class WorkshopUpReadinessTests
{
    private static readonly TimeSpan Starting = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Up_GoesOnPastAServiceThatAnswers503_SayingWhatItsReadinessNamesAsNotHealthy()
    {
        var (gateway, users, reporting) = (WorkshopFolder.FreePort(), WorkshopFolder.FreePort(), WorkshopFolder.FreePort());
        using var folder = WorkshopFolder.Create("ready", new Dictionary<string, string>
        {
            ["docker-compose.yml"] = $$"""
                services:
                {{Service("gateway", gateway, dependsOn: "[users, reporting]")}}
                {{Service("users", users)}}
                {{Service("reporting", reporting)}}
                """,
            // Healthy, and started last: it starts although the two before it are not ready.
            ["src/Gateway/Program.cs"] = """
                var app = WebApplication.Create(args);
                app.MapGet("/health", () => "Healthy");
                app.Run();
                """,
            // As the services before step 06: /health only, no /health/ready to say why.
            ["src/Users/Program.cs"] = """
                var app = WebApplication.Create(args);
                app.MapGet("/health", () => Results.Text("Unhealthy", statusCode: 503));
                app.Run();
                """,
            // As step 10's reporting without RabbitMQ: its database check healthy, its broker check not.
            ["src/Reporting/Program.cs"] = """
                var app = WebApplication.Create(args);
                app.MapGet("/health", () => Results.Text("Unhealthy", statusCode: 503));
                app.MapGet("/health/ready", () => Results.Json(new
                {
                    status = "Unhealthy",
                    checks = new object[]
                    {
                        new { name = "database", status = "Healthy", durationMs = 0.2 },
                        new { name = "rabbitmq", status = "Unhealthy", durationMs = 0.1, description = "Not connected to RabbitMQ at amqp://localhost:5672/:\n  None of the specified endpoints were reachable." },
                    },
                }, statusCode: 503));
                app.Run();
                """,
            ["src/Gateway/Gateway.csproj"] = Project,
            ["src/Users/Users.csproj"] = Project,
            ["src/Reporting/Reporting.csproj"] = Project,
        });

        await using var up = WorkshopCommand.Start(new Dictionary<string, string> { ["WORKSHOP_ROOT"] = folder.Root }, "up", "01");
        await up.WaitForOutputAsync("(Ctrl-C stops every service)", Starting);

        Assert.Matches(@"(?m)^\[warn\] users started but is not ready \(\d+\.\d s\): /health answers 503$", up.Output);
        // Only the checks that are not healthy, each on one line.
        Assert.Matches(
            @"(?m)^\[warn\] reporting started but is not ready \(\d+\.\d s\): /health answers 503, and /health/ready says "
                + @"rabbitmq is Unhealthy \(Not connected to RabbitMQ at amqp://localhost:5672/: None of the specified endpoints were reachable\.\)$",
            up.Output);
        Assert.Matches(@"\[ok\]   gateway is healthy \(\d+\.\d s\)", up.Output);
        Assert.Matches($@"\n  reporting +http://localhost:{reporting} ", up.Output);
        Assert.DoesNotContain("did not answer", up.Output + up.Errors);

        // It runs, answering as it does: not ready is not stopped.
        using var http = new HttpClient();
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, (await http.GetAsync($"http://localhost:{reporting}/health")).StatusCode);

        up.Interrupt();
        await up.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, up.ExitCode);
        Assert.Contains($"Stopped {folder.Step}.", up.Output);
    }

    private const string Project = """
        <Project Sdk="Microsoft.NET.Sdk.Web">
          <PropertyGroup>
            <TargetFramework>net10.0</TargetFramework>
            <ImplicitUsings>enable</ImplicitUsings>
          </PropertyGroup>
        </Project>
        """;

    /// <summary>The compose entry of one of the step's services, built from src/&lt;Name&gt;, indented as a service.</summary>
    private static string Service(string name, int port, string? dependsOn = null)
    {
        var project = char.ToUpperInvariant(name[0]) + name[1..];
        var entry = $$"""
              {{name}}:
                build:
                  context: ..
                  dockerfile: 01-ready/src/{{project}}/Dockerfile
                ports:
                  - "{{port}}:8080"
            """;
        return dependsOn is null ? entry : entry + $"\n    depends_on: {dependsOn}";
    }
}
