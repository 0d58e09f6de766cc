using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Workshop.Testing.Consul;

/// <summary>
/// The JSON bodies of Consul's answers, with Consul's field names (PascalCase, <c>ID</c>, <c>CheckID</c>).
/// Written as a dev agent (the docker-compose one) writes them: indented by 4 spaces, ending in a newline.
/// Maps are written with sorted keys, as Go does.
/// </summary>
internal static class ConsulJson
{
    /// <summary>Consul's version, shown in the node's <c>Meta</c>.</summary>
    public const string Version = "1.22.5";

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        IndentSize = 4,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,

        // Writes "Service 'accounts' check" as it is, as Go does, rather than escaping the quotes.
        // (The answers go to the tests' own clients, never into a web page.)
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static byte[] Serialize(object value) => [.. JsonSerializer.SerializeToUtf8Bytes(value, Options), (byte)'\n'];

    /// <summary>One item of <c>GET /v1/health/service/{name}</c>: the node, the instance, and every check that applies to it.</summary>
    public static HealthEntryJson HealthEntry(RegisteredService service, AgentNode node) => new(
        NodeOf(node),
        new ServiceJson(
            service.Id, service.Name, service.Tags, service.Address, TaggedAddresses(service), Sorted(service.Meta),
            service.Port, new WeightsJson(1, 1), service.EnableTagOverride, service.CreateIndex, service.ModifyIndex),
        [.. new[] { SerfHealth(node) }.Concat(service.Checks.Select(c => Check(c, service, node))).OrderBy(c => c.CheckId, StringComparer.Ordinal)]);

    /// <summary>One value of <c>GET /v1/agent/services</c>, keyed by service ID.</summary>
    public static AgentServiceJson AgentService(RegisteredService service, AgentNode node) => new(
        service.Id, service.Name, service.Tags, Sorted(service.Meta), service.Port, service.Address, TaggedAddresses(service),
        new WeightsJson(1, 1), service.EnableTagOverride, node.Datacenter);

    public static CheckJson Check(RegisteredCheck check, RegisteredService service, AgentNode node) => new(
        node.Name, check.CheckId, check.Name, check.Status, check.Notes, check.Output, check.ServiceId, check.ServiceName,
        service.Tags, check.Type, Duration(check.Interval), Duration(check.Timeout), check.CreateIndex, check.ModifyIndex);

    /// <summary>The agent's own node check, always passing while the agent runs.</summary>
    private static CheckJson SerfHealth(AgentNode node) => new(
        node.Name, "serfHealth", "Serf Health Status", CheckStatus.Passing, "", "Agent alive and reachable", "", "", [], "", "", "",
        node.CreateIndex, node.CreateIndex);

    private static NodeJson NodeOf(AgentNode node) => new(
        node.Id, node.Name, node.Address, node.Datacenter,
        Sorted(new Dictionary<string, string> { ["lan"] = node.Address, ["lan_ipv4"] = node.Address, ["wan"] = node.Address, ["wan_ipv4"] = node.Address }),
        Sorted(new Dictionary<string, string> { ["consul-network-segment"] = "", ["consul-version"] = Version }),
        node.CreateIndex, node.CreateIndex);

    /// <summary>Consul adds <c>lan_ipv4</c> and <c>wan_ipv4</c> (or <c>_ipv6</c>) when the address is an IP literal.</summary>
    private static SortedDictionary<string, ServiceAddressJson>? TaggedAddresses(RegisteredService service) =>
        IpLiteral.Family(service.Address) is { } family
            ? new(StringComparer.Ordinal)
            {
                [$"lan_{family}"] = new(service.Address, service.Port),
                [$"wan_{family}"] = new(service.Address, service.Port),
            }
            : null;

    private static SortedDictionary<string, string> Sorted(IReadOnlyDictionary<string, string> map) =>
        new(map.ToDictionary(p => p.Key, p => p.Value), StringComparer.Ordinal);

    private static string Duration(TimeSpan? duration) => duration is { } value ? GoDuration.Format(value) : "";
}

/// <summary>The agent's node, as the answers show it.</summary>
internal sealed record AgentNode(string Id, string Name, string Address, string Datacenter, ulong CreateIndex);

internal sealed record HealthEntryJson(NodeJson Node, ServiceJson Service, IReadOnlyList<CheckJson> Checks);

internal sealed record NodeJson(
    [property: JsonPropertyName("ID")] string Id,
    string Node,
    string Address,
    string Datacenter,
    IReadOnlyDictionary<string, string> TaggedAddresses,
    IReadOnlyDictionary<string, string> Meta,
    ulong CreateIndex,
    ulong ModifyIndex);

/// <summary>A service instance in a health answer; <c>Port</c> is left out when 0 (Go's <c>omitempty</c>).</summary>
internal sealed record ServiceJson(
    [property: JsonPropertyName("ID")] string Id,
    string Service,
    IReadOnlyList<string> Tags,
    string Address,
    IReadOnlyDictionary<string, ServiceAddressJson>? TaggedAddresses,
    IReadOnlyDictionary<string, string> Meta,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] int Port,
    WeightsJson Weights,
    bool EnableTagOverride,
    ulong CreateIndex,
    ulong ModifyIndex);

internal sealed record AgentServiceJson(
    [property: JsonPropertyName("ID")] string Id,
    string Service,
    IReadOnlyList<string> Tags,
    IReadOnlyDictionary<string, string> Meta,
    int Port,
    string Address,
    IReadOnlyDictionary<string, ServiceAddressJson>? TaggedAddresses,
    WeightsJson Weights,
    bool EnableTagOverride,
    string Datacenter);

internal sealed record ServiceAddressJson(string Address, int Port);

internal sealed record WeightsJson(int Passing, int Warning);

internal sealed record CheckJson(
    string Node,
    [property: JsonPropertyName("CheckID")] string CheckId,
    string Name,
    string Status,
    string Notes,
    string Output,
    [property: JsonPropertyName("ServiceID")] string ServiceId,
    string ServiceName,
    IReadOnlyList<string> ServiceTags,
    string Type,
    string Interval,
    string Timeout,
    ulong CreateIndex,
    ulong ModifyIndex);
