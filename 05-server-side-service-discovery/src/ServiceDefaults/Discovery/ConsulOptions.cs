using System.ComponentModel.DataAnnotations;

namespace ServiceDefaults.Discovery;

/// <summary>
/// Where the Consul agent is, and how this service registers in it. Bound from the "Consul" section:
/// <code>
/// "Consul": {
///   "Address": "http://localhost:8500",       // the agent; in docker-compose Consul__Address=http://consul:8500
///   "ServiceName": "accounts",                // defaults to the project's name in lower case
///   "ServiceAddress": null,                   // how others reach this instance (see ServiceInstance)
///   "ServiceNetwork": null,                   // or the network whose address it registers, e.g. "10.20.0.0/16"
///   "CheckTtl": "00:00:10",                   // the instance says "alive" three times within this
///   "DeregisterCriticalServiceAfter": "00:01:00",
///   "BlockingWait": "00:00:30"                // how long one watch query may wait for a change
/// }
/// </code>
/// </summary>
public sealed class ConsulOptions
{
    public const string SectionName = "Consul";

    [Required]
    public Uri? Address { get; set; } = new("http://localhost:8500");

    [RegularExpression("^[a-z0-9-]{1,63}$", ErrorMessage = "Consul:ServiceName must be lower-case letters, digits and '-', such as 'accounts'.")]
    public string? ServiceName { get; set; }

    /// <summary>
    /// The host name or IP address other services and Consul reach this instance at. Unset: its address
    /// in <see cref="ServiceNetwork"/> when that is set; else the host it listens on, or, when it listens
    /// on every interface (as in a container), this machine's host name, which other containers on the
    /// same compose network can resolve.
    /// </summary>
    public string? ServiceAddress { get; set; }

    /// <summary>
    /// An IPv4 network in CIDR notation (<c>10.20.0.0/16</c>): the instance registers the address of its
    /// own interface inside it. For a network that spans machines, such as a Docker Swarm overlay
    /// network, where a container's host name is known on its own machine only and the container has
    /// other networks besides. Used when <see cref="ServiceAddress"/> is unset; no interface in it stops
    /// the instance with an error naming the addresses it has.
    /// </summary>
    public string? ServiceNetwork { get; set; }

    /// <summary>A TTL check: the instance passes it every third of this; a crashed one turns critical after it.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan CheckTtl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long Consul keeps a critical instance before removing it (Consul's floor is one minute).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan DeregisterCriticalServiceAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The <c>wait</c> of one blocking query: Consul answers at once on a change, else after this.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan BlockingWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// On a graceful stop, how long the instance keeps serving after it has deregistered, so that callers
    /// that still hold its address finish their calls and learn that it left.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30")]
    public TimeSpan DrainDelay { get; set; } = TimeSpan.FromSeconds(2);
}
