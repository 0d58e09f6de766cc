using Workshop.Steps;
using Workshop.Testing;

namespace Repository.Tests;

/// <summary>
/// x-workshop <c>config:</c>: infrastructure whose configuration names the services at their
/// documented ports runs on a copy that follows the services where they moved.
/// </summary>
public sealed class InfraConfigTests
{
    [Fact]
    public void TheCopy_NamesTheMovedServicesAtTheirPorts_AndTheRunLinePointsAtIt()
    {
        using var folder = new TempDirectory();
        var step = new Step(9, "09-made-up", "made up", folder.Path);
        Directory.CreateDirectory(folder.File("conf/rules"));
        File.WriteAllText(folder.File("conf/local.yml"), """
            targets: ["localhost:8000", "localhost:8001", "localhost:8002", "localhost:80010", "otherhost:8001"]
            rule_files: [rules/alerts.yml]
            """);
        File.WriteAllText(folder.File("conf/rules/alerts.yml"), "expr: up{instance=\"localhost:8001\"} == 0");
        var service = new InfraService("prometheus", 9090, ["prometheus", "--config.file=conf/local.yml", "--storage.tsdb.path=data/prometheus"], null, null, "conf/");
        // The variables its run line sets before the program, too (PROMETHEUS_RULES=conf/rules/alerts.yml prometheus ...).
        var variables = new Dictionary<string, string> { ["PROMETHEUS_RULES"] = "conf/rules/alerts.yml", ["PROMETHEUS_DATA"] = "data/prometheus" };
        var command = new LocalCommand("prometheus", 9090, "http://localhost:9090", "/usr/bin/prometheus", service.Run!.Skip(1).ToList(), folder.Path, variables, null, true);
        AppService App(string name, int documented, int port) =>
            new(name, folder.File(name), new HostPort(port, documented, 8080, name.ToUpperInvariant() + "_PORT", port == documented ? null : "the environment"), [], []);

        var moved = InfraConfig.Apply(command, service, step, [App("gateway", 8000, 8000), App("users", 8001, 9001), App("accounts", 8002, 8001)]);

        Assert.Equal(["--config.file=data/prometheus-config/local.yml", "--storage.tsdb.path=data/prometheus"], moved.Arguments);
        Assert.Equal(new Dictionary<string, string> { ["PROMETHEUS_RULES"] = "data/prometheus-config/rules/alerts.yml", ["PROMETHEUS_DATA"] = "data/prometheus" }, moved.Environment);
        // One pass: users moved to 9001 and accounts to users' old port, not both to 9001.
        Assert.Equal("""
            targets: ["localhost:8000", "localhost:9001", "localhost:8001", "localhost:80010", "otherhost:8001"]
            rule_files: [rules/alerts.yml]
            """, File.ReadAllText(folder.File("data/prometheus-config/local.yml")));
        Assert.Equal("expr: up{instance=\"localhost:9001\"} == 0", File.ReadAllText(folder.File("data/prometheus-config/rules/alerts.yml")));
        // The step's own files stay as they are.
        Assert.Contains("\"localhost:8001\", \"localhost:8002\"", File.ReadAllText(folder.File("conf/local.yml")));
    }

    [Fact]
    public void AConfigFolderTheStepLacks_IsNamed()
    {
        using var folder = new TempDirectory();
        var step = new Step(9, "09-made-up", "made up", folder.Path);
        var service = new InfraService("prometheus", 9090, ["prometheus", "--config.file=conf/local.yml"], null, null, "conf");
        var command = new LocalCommand("prometheus", 9090, "http://localhost:9090", "/usr/bin/prometheus", ["--config.file=conf/local.yml"], folder.Path, new Dictionary<string, string>(), null, true);

        var error = Assert.Throws<UserError>(() => InfraConfig.Apply(command, service, step, []));
        Assert.Equal("09-made-up/docker-compose.yml: the x-workshop config of prometheus names conf, which is not a folder of the step", error.Message);
    }
}
