using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Workshop.Testing.Consul;

/// <summary>An answer other than 200 that a handler gives: the status and Consul's plain-text reason.</summary>
internal sealed class ConsulApiException(int statusCode, string reason) : Exception(reason)
{
    public int StatusCode { get; } = statusCode;
}

/// <summary>
/// The body of <c>PUT /v1/agent/service/register</c>, read and checked as Consul does
/// (<c>agent_endpoint.go</c> <c>AgentRegisterService</c>): field names match whatever their case or
/// underscores (<c>Name</c>, <c>name</c>, <c>check_id</c>), and each refusal is a 400 with Consul's text.
/// </summary>
internal sealed partial record ServiceDefinition(
    string Id,
    string Name,
    IReadOnlyList<string> Tags,
    string Address,
    int Port,
    IReadOnlyDictionary<string, string> Meta,
    bool EnableTagOverride,
    IReadOnlyList<CheckDefinition> Checks)
{
    public static ServiceDefinition Parse(string body)
    {
        var json = GoJsonObject.Decode(body, "structs.ServiceDefinition");
        var name = json.String("Name") ?? "";
        var address = json.String("Address") ?? "";
        var meta = json.StringMap("Meta");

        // "Check" (one) and "Checks" (several) may both be given; an empty "Check": {} is ignored.
        var checks = new List<CheckDefinition>();
        if (json.Object("Check", "structs.CheckType") is { } single && !single.IsEmpty)
        {
            checks.Add(CheckDefinition.Read(single));
        }

        checks.AddRange(json.Objects("Checks", "structs.CheckType").Select(CheckDefinition.Read));
        var service = new ServiceDefinition(
            Id: json.String("ID") is { Length: > 0 } id ? id : name,
            Name: name,
            Tags: json.Strings("Tags"),
            Address: address,
            Port: json.Int("Port"),
            Meta: meta,
            EnableTagOverride: json.Bool("EnableTagOverride"),
            Checks: checks);

        // The order of Consul's own checks, so that a request with two faults gets Consul's answer.
        if (name.Length == 0)
        {
            throw new ConsulApiException(400, "Missing service name");
        }

        if (address is "0.0.0.0" or "::" or "[::]")
        {
            throw new ConsulApiException(400, "Invalid service address");
        }

        if (MetaError(meta) is { } metaError)
        {
            throw new ConsulApiException(400, $"Invalid Service Meta: {metaError}");
        }

        foreach (var check in service.Checks)
        {
            if (check.Validate() is { } checkError)
            {
                throw new ConsulApiException(400, $"Invalid check: {checkError}");
            }
        }

        if (service.Checks.Any(c => c.Status is { Length: > 0 } status && !CheckStatus.IsValid(status)))
        {
            throw new ConsulApiException(400, "Status for checks must 'passing', 'warning', 'critical'");
        }

        return service;
    }

    /// <summary>
    /// The ID Consul gives a check sent without one: <c>service:&lt;id&gt;</c>, numbered from 1
    /// (<c>service:&lt;id&gt;:2</c>) when the service has more than one check.
    /// </summary>
    public string CheckIdOf(int position) =>
        Checks[position].CheckId is { Length: > 0 } id ? id
        : Checks.Count == 1 ? $"service:{Id}"
        : $"service:{Id}:{position + 1}";

    /// <summary>The name Consul gives a check sent without one.</summary>
    public string CheckNameOf(int position) => Checks[position].Name is { Length: > 0 } name ? name : $"Service '{Name}' check";

    private static string? MetaError(IReadOnlyDictionary<string, string> meta)
    {
        if (meta.Count > 64)
        {
            return "Node metadata cannot contain more than 64 key/value pairs";
        }

        foreach (var (key, value) in meta)
        {
            var reason =
                key.Length == 0 ? "Key cannot be blank"
                : !MetaKey().IsMatch(key) ? "Key contains invalid characters"
                : key.Length > 128 ? "Key is too long (limit: 128 characters)"
                : key.StartsWith("consul-", StringComparison.Ordinal) ? "Key prefix 'consul-' is reserved for internal use"
                : value.Length > 512 ? "Value is too long (limit: 512 characters)"
                : null;
            if (reason is not null)
            {
                return $"Couldn't load metadata pair ('{key}', '{value}'): {reason}";
            }
        }

        return null;
    }

    [GeneratedRegex("^[a-zA-Z0-9_-]+$")]
    private static partial Regex MetaKey();
}

/// <summary>
/// One check of a registration (<c>Check</c> or an item of <c>Checks</c>). The stand-in runs TTL and
/// HTTP checks; it accepts the other kinds (TCP, gRPC, script…) as Consul validates them, and leaves
/// them at their initial status.
/// </summary>
internal sealed record CheckDefinition(
    string? CheckId,
    string? Name,
    string Notes,
    string? Status,
    TimeSpan? Ttl,
    string? Http,
    string? Method,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Header,
    string? Body,
    bool DisableRedirects,
    TimeSpan? Interval,
    TimeSpan? Timeout,
    TimeSpan? DeregisterCriticalServiceAfter,
    string? OtherKind)
{
    public static CheckDefinition Read(GoJsonObject json)
    {
        string[] otherKinds = ["TCP", "UDP", "GRPC", "H2PING", "Args", "ScriptArgs", "DockerContainerID", "OSService", "AliasService", "AliasNode"];
        return new CheckDefinition(
            CheckId: json.String("CheckID") ?? json.String("ID"),
            Name: json.String("Name"),
            Notes: json.String("Notes") ?? "",
            Status: json.String("Status"),
            Ttl: Positive(json.Duration("TTL")),
            Http: json.String("HTTP") is { Length: > 0 } http ? http : null,
            Method: json.String("Method") is { Length: > 0 } method ? method : null,
            Header: json.StringListMap("Header"),
            Body: json.String("Body"),
            DisableRedirects: json.Bool("DisableRedirects"),
            Interval: Positive(json.Duration("Interval")),
            Timeout: Positive(json.Duration("Timeout")),
            DeregisterCriticalServiceAfter: Positive(json.Duration("DeregisterCriticalServiceAfter")),
            OtherKind: otherKinds.FirstOrDefault(json.HasValue)?.ToLowerInvariant());
    }

    /// <summary>Consul's <c>Type</c> of the check.</summary>
    public string Type => Ttl is not null ? "ttl" : Http is not null ? "http" : OtherKind switch
    {
        "args" or "scriptargs" => "script",
        "aliasservice" or "aliasnode" => "alias",
        "dockercontainerid" => "docker",
        "osservice" => "os_service",
        { } kind => kind,
        null => "",
    };

    /// <summary>Consul's <c>CheckType.Validate</c>: null when valid, else the reason.</summary>
    public string? Validate()
    {
        var runsOnInterval = Http is not null || OtherKind is not null and not ("aliasservice" or "aliasnode");
        if (Interval is not null && Ttl is not null)
        {
            return "Interval and TTL cannot both be specified";
        }

        if (runsOnInterval && Interval is null)
        {
            return "Interval must be > 0 for Script, HTTP, H2PING, TCP or UDP checks";
        }

        if (!runsOnInterval && OtherKind is not ("aliasservice" or "aliasnode") && Ttl is null)
        {
            return "TTL must be > 0 for TTL checks";
        }

        return null;
    }

    private static TimeSpan? Positive(TimeSpan? duration) => duration > TimeSpan.Zero ? duration : null;
}

/// <summary>
/// A JSON object read as Go's <c>encoding/json</c> reads it into a struct: names match whatever their
/// case (and, as Consul's register endpoint allows, with or without underscores), unknown names are
/// ignored, <c>null</c> is the zero value, and a value of the wrong kind is refused with Go's words.
/// </summary>
internal sealed class GoJsonObject
{
    private readonly Dictionary<string, JsonElement> _fields = [];
    private readonly string _goType;

    private GoJsonObject(JsonElement element, string goType)
    {
        _goType = goType;
        foreach (var property in element.EnumerateObject())
        {
            _fields[Normalize(property.Name)] = property.Value.Clone();
        }
    }

    /// <summary>Whether the object has no field of a non-zero value (Consul ignores such a <c>Check</c>).</summary>
    public bool IsEmpty => _fields.Values.All(IsZero);

    public static GoJsonObject Decode(string body, string goType)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            throw DecodeFailed("EOF");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            throw DecodeFailed($"invalid JSON: {e.Message}");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw DecodeFailed($"json: cannot unmarshal {Kind(document.RootElement)} into Go value of type {goType}");
            }

            return new GoJsonObject(document.RootElement, goType);
        }
    }

    public bool HasValue(string name) => Field(name) is { } value && !IsZero(value);

    public string? String(string name) => Field(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } value => value.GetString(),
        var value => throw WrongKind(name, value.Value, "string"),
    };

    public int Int(string name) => Field(name) switch
    {
        null => 0,
        { ValueKind: JsonValueKind.Number } value when value.TryGetInt32(out var number) => number,
        var value => throw WrongKind(name, value.Value, "int"),
    };

    public bool Bool(string name) => Field(name) switch
    {
        null => false,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        var value => throw WrongKind(name, value.Value, "bool"),
    };

    /// <summary>A duration: Go's text ("10s") or a number of nanoseconds.</summary>
    public TimeSpan? Duration(string name)
    {
        switch (Field(name))
        {
            case null:
                return null;
            case { ValueKind: JsonValueKind.Number } value when value.TryGetInt64(out var nanoseconds):
                return TimeSpan.FromTicks(nanoseconds / 100);
            case { ValueKind: JsonValueKind.String } value:
                return GoDuration.TryParse(value.GetString()!, out var duration, out var error) ? duration : throw DecodeFailed(error);
            case var value:
                throw WrongKind(name, value.Value, "time.Duration");
        }
    }

    public IReadOnlyList<string> Strings(string name) => Field(name) switch
    {
        null => [],
        { ValueKind: JsonValueKind.Array } value => [.. value.EnumerateArray().Select(item =>
            item.ValueKind == JsonValueKind.String ? item.GetString()! : throw WrongKind(name, item, "string"))],
        var value => throw WrongKind(name, value.Value, "[]string"),
    };

    public IReadOnlyDictionary<string, string> StringMap(string name) => Field(name) switch
    {
        null => new Dictionary<string, string>(),
        { ValueKind: JsonValueKind.Object } value => value.EnumerateObject().ToDictionary(
            p => p.Name,
            p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw WrongKind(name, p.Value, "string")),
        var value => throw WrongKind(name, value.Value, "map[string]string"),
    };

    public IReadOnlyDictionary<string, IReadOnlyList<string>> StringListMap(string name) => Field(name) switch
    {
        null => new Dictionary<string, IReadOnlyList<string>>(),
        { ValueKind: JsonValueKind.Object } value => value.EnumerateObject().ToDictionary(
            p => p.Name,
            p => p.Value.ValueKind == JsonValueKind.Array
                ? (IReadOnlyList<string>)[.. p.Value.EnumerateArray().Select(item => item.GetString() ?? "")]
                : throw WrongKind(name, p.Value, "[]string")),
        var value => throw WrongKind(name, value.Value, "map[string][]string"),
    };

    public GoJsonObject? Object(string name, string goType) => Field(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Object } value => new GoJsonObject(value, goType),
        var value => throw WrongKind(name, value.Value, goType),
    };

    public IReadOnlyList<GoJsonObject> Objects(string name, string goType) => Field(name) switch
    {
        null => [],
        { ValueKind: JsonValueKind.Array } value => [.. value.EnumerateArray().Select(item =>
            item.ValueKind == JsonValueKind.Object ? new GoJsonObject(item, goType) : throw WrongKind(name, item, goType))],
        var value => throw WrongKind(name, value.Value, "[]*" + goType),
    };

    private JsonElement? Field(string name) =>
        _fields.TryGetValue(Normalize(name), out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static string Normalize(string name) => name.Replace("_", "").ToLowerInvariant();

    private static bool IsZero(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.False => true,
        JsonValueKind.String => value.GetString()!.Length == 0,
        JsonValueKind.Number => value.GetDouble() == 0,
        JsonValueKind.Array => value.GetArrayLength() == 0,
        JsonValueKind.Object => !value.EnumerateObject().Any(),
        _ => false,
    };

    private ConsulApiException WrongKind(string name, JsonElement value, string goTypeOfField) =>
        DecodeFailed($"json: cannot unmarshal {Kind(value)} into Go struct field {_goType.Split('.')[^1]}.{name} of type {goTypeOfField}");

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "bool",
        JsonValueKind.Array => "array",
        _ => "object",
    };

    private static ConsulApiException DecodeFailed(string error) => new(400, $"Request decode failed: {error}");
}

/// <summary>Whether an address is an IP literal, for which Consul adds <c>lan_ipv4</c>/<c>wan_ipv4</c> tagged addresses.</summary>
internal static class IpLiteral
{
    public static string? Family(string address) =>
        IPAddress.TryParse(address, out var ip)
            ? ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "ipv6" : "ipv4"
            : null;
}
