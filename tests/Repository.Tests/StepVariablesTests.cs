using Workshop.Steps;

namespace Repository.Tests;

/// <summary>How `workshop up` reads the variables that move a step's ports, as docker compose reads them.</summary>
public sealed class StepVariablesTests
{
    [Fact]
    public void Parse_ReadsAnEnvFile_AsComposeDoes()
    {
        var variables = StepVariables.Parse(
        [
            "# host ports for this laptop",
            "",
            "GATEWAY_PORT=9000",
            "  USERS_PORT = 9001  ",
            "export ACCOUNTS_PORT=9002",
            "REPORTING_PORT=\"9003\"",
            "CONSUL_PORT='9500'",
            "JAEGER_PORT=9686 # the UI",
            "GREETING=\"hello # not a comment\"",
            "not a variable",
            "GATEWAY_PORT=9100",
        ]);

        Assert.Equal(
            new Dictionary<string, string>
            {
                ["GATEWAY_PORT"] = "9100",
                ["USERS_PORT"] = "9001",
                ["ACCOUNTS_PORT"] = "9002",
                ["REPORTING_PORT"] = "9003",
                ["CONSUL_PORT"] = "9500",
                ["JAEGER_PORT"] = "9686",
                ["GREETING"] = "hello # not a comment",
            },
            variables);
    }

    /// <summary>
    /// Each step's compose file gives a service the others' addresses inside compose; run locally, a
    /// moved service's callers are given its host address under the same keys.
    /// </summary>
    [Fact]
    public void Load_FindsTheComposeAddressesOfTheStepsOwnServices()
    {
        var addresses = StepServices.Load(Repo.Step("03-api-gateway")).Apps
            .SelectMany(app => app.Addresses.Select(a => $"{app.Name}: {a.Key} -> {a.OnHost(9002)}"))
            .Order()
            .ToList();

        Assert.Equal(
            [
                "gateway: ReverseProxy__Clusters__accounts__Destinations__primary__Address -> http://localhost:9002/",
                "gateway: ReverseProxy__Clusters__users__Destinations__primary__Address -> http://localhost:9002/",
                "users: AccountsClient__BaseAddress -> http://localhost:9002",
            ],
            addresses);
    }

    [Fact]
    public void Load_TakesTheListFormOfEnvironment_AndLeavesOtherValuesAlone()
    {
        using var folder = WorkshopFolder.Create("listed", new Dictionary<string, string>
        {
            ["docker-compose.yml"] = """
                services:
                  users:
                    build: { context: .., dockerfile: 01-listed/src/Users/Dockerfile }
                    ports: ["${USERS_PORT:-8001}:8080"]
                    environment:
                      - AccountsClient__BaseAddress=http://accounts:8080/v1
                      - Database__Path=/app/data/users.db
                      - Elsewhere__Address=http://example.com:8080
                      - Consul__Address=http://consul:8500
                  accounts:
                    build: { context: .., dockerfile: 01-listed/src/Accounts/Dockerfile }
                    ports: ["${ACCOUNTS_PORT:-8002}:8080"]
                  consul:
                    image: hashicorp/consul:1.20
                    ports: ["8500:8500"]
                """,
        });
        var step = StepCatalog.Load(folder.Root).Single();

        var users = StepServices.Load(step).Apps.Single(a => a.Name == "users");

        var address = Assert.Single(users.Addresses);
        Assert.Equal(("AccountsClient__BaseAddress", "accounts"), (address.Key, address.Service));
        Assert.Equal("http://localhost:9002/v1", address.OnHost(9002));
        Assert.Equal(new HostPort(8001, 8001, 8080, "USERS_PORT", null), users.HostPort);
    }

    /// <summary>`workshop diff` and the incremental-steps test compare a step's sources, not this machine's settings and data.</summary>
    [Fact]
    public void StepFiles_LeaveOutTheEnvFile_BuildOutputAndDatabases()
    {
        using var folder = WorkshopFolder.Create("local", new Dictionary<string, string>
        {
            [".env"] = "USERS_PORT=9001\n",
            ["src/Users/Program.cs"] = "",
            ["src/Users/data/users.db"] = "",
            ["src/Users/bin/Debug/Users.dll"] = "",
            ["src/Users/obj/project.assets.json"] = "",
        });

        Assert.Equal(
            ["README.md", "Workshop.slnx", "src/Users/Program.cs"],
            StepFiles.Enumerate(Path.Combine(folder.Root, folder.Step)).Keys.Order(StringComparer.Ordinal));
    }
}
