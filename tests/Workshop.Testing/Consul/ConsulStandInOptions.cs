using Microsoft.Extensions.Logging;

namespace Workshop.Testing.Consul;

/// <summary>
/// Settings of a <see cref="ConsulStandIn"/>. The defaults are real Consul's; the timings that make
/// Consul slow to watch (the 1-minute floor of <c>DeregisterCriticalServiceAfter</c>, the 30-second
/// reaper, the random delay before a first HTTP probe) can be shortened so that tests stay fast.
/// </summary>
public sealed record ConsulStandInOptions
{
    /// <summary>The loopback port to listen on; 0 (the default) takes a free one.</summary>
    public int Port { get; init; }

    /// <summary>The agent's node name, shown as <c>Node</c> in the answers.</summary>
    public string NodeName { get; init; } = "consul";

    /// <summary>The datacenter, shown as <c>Datacenter</c> in the answers.</summary>
    public string Datacenter { get; init; } = "dc1";

    /// <summary>
    /// A check's <c>DeregisterCriticalServiceAfter</c> below this is raised to it. Consul: 1 minute
    /// (<c>check_deregister_interval_min</c>, which Consul does not let users change).
    /// </summary>
    public TimeSpan MinimumDeregisterCriticalServiceAfter { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How often the reaper removes the services whose check has been critical for longer than its
    /// <c>DeregisterCriticalServiceAfter</c>. Consul: 30 seconds (<c>check_reap_interval</c>, not user-tunable).
    /// </summary>
    public TimeSpan ReapInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A check's <c>Interval</c> below this is raised to it. Consul: 1 second.</summary>
    public TimeSpan MinimumCheckInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Whether an HTTP check waits a random time between 0 and its <c>Interval</c> before its first
    /// probe, as Consul does (on by default). Off, the first probe runs at registration: tests are then
    /// deterministic.
    /// </summary>
    public bool StaggerFirstHttpProbe { get; init; } = true;

    /// <summary>Where the stand-in logs registrations, status changes and reaps; none by default.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }
}
