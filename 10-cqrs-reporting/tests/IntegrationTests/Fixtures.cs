using System.Runtime.CompilerServices;

namespace IntegrationTests;

/// <summary>
/// From this step on every service registers in Consul, at http://localhost:8500 unless told
/// otherwise. No test may reach a Consul running on this machine (one started for the workshop would
/// get the tests' instances): every service the tests start is pointed at a port where nothing
/// listens, and a test that needs Consul starts a stand-in and passes its address.
/// </summary>
internal static class NoConsulUnlessAsked
{
    [ModuleInitializer]
    internal static void PointAtNoConsul() => ServiceProcess.CommonConfiguration["Consul__Address"] = "http://127.0.0.1:1";
}

/// <summary>
/// From step 08 on every service exports its traces to http://localhost:4318, where a Jaeger started
/// for the workshop would get the tests' spans. Every service the tests start exports to a port where
/// nothing listens; a test of tracing starts the OTLP stand-in and passes its address.
/// </summary>
internal static class NoCollectorUnlessAsked
{
    [ModuleInitializer]
    internal static void PointAtNoCollector() => ServiceProcess.CommonConfiguration["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:1";
}

/// <summary>users, and the accounts service it asks for balances.</summary>
public sealed class UsersFixture() : ServiceFixture("Users")
{
    public ServiceProcess Accounts { get; private set; } = null!;

    protected override async Task StartDependenciesAsync(Dictionary<string, string> configuration)
    {
        Accounts = await ServiceProcess.StartAsync("Accounts", new Dictionary<string, string> { ["Database__Path"] = Data.File("accounts.db") });
        configuration["AccountsClient__BaseAddress"] = Accounts.BaseAddress.ToString();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Accounts.DisposeAsync();
    }
}

public sealed class AccountsFixture() : ServiceFixture("Accounts");

/// <summary>
/// From step 10 on users and accounts publish their events to RabbitMQ at localhost:5672, where a broker
/// started for the workshop would get the tests' events. Every service the tests start is pointed at a
/// port where nothing listens; a test of the events starts its own broker and passes its address.
/// </summary>
internal static class NoBrokerUnlessAsked
{
    [ModuleInitializer]
    internal static void PointAtNoBroker() => ServiceProcess.CommonConfiguration["RabbitMq__Uri"] = "amqp://guest:guest@127.0.0.1:1/";

    /// <summary>
    /// The gateway routes /api/reports to reporting, which only the tests of step 10 start (with their
    /// broker, <see cref="CqrsStep"/>): elsewhere it would probe an address where nothing listens.
    /// </summary>
    [ModuleInitializer]
    internal static void ProbeNoReporting() => ServiceProcess.CommonConfiguration["ReverseProxy__Clusters__reporting__HealthCheck__Active__Enabled"] = "false";
}
