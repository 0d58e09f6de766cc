namespace Workshop.Testing.Consul;

/// <summary>The statuses of a Consul check, as they appear on the wire.</summary>
public static class CheckStatus
{
    public const string Passing = "passing";
    public const string Warning = "warning";
    public const string Critical = "critical";

    /// <summary>Whether <paramref name="status"/> is one of the three (Consul compares them exactly).</summary>
    public static bool IsValid(string? status) => status is Passing or Warning or Critical;
}

/// <summary>
/// What the Consul stand-in holds at one moment, for tests to look at: every registered service
/// instance with its checks, and the index of the last change.
/// </summary>
public sealed record ConsulRegistry(ulong Index, IReadOnlyList<RegisteredService> Services)
{
    /// <summary>The instance registered with this service ID, or null.</summary>
    public RegisteredService? Find(string serviceId) => Services.FirstOrDefault(s => s.Id == serviceId);

    /// <summary>Every instance of the service <paramref name="serviceName"/>, whatever its health.</summary>
    public IReadOnlyList<RegisteredService> Instances(string serviceName) => [.. Services.Where(s => s.Name == serviceName)];

    /// <summary>
    /// The instances of <paramref name="serviceName"/> that <c>GET /v1/health/service/{name}?passing</c>
    /// returns: those whose every check is passing.
    /// </summary>
    public IReadOnlyList<RegisteredService> Passing(string serviceName) => [.. Instances(serviceName).Where(s => s.IsPassing)];

    /// <summary>One line per instance, for failure messages.</summary>
    public override string ToString() =>
        Services.Count == 0
            ? $"no service registered (index {Index})"
            : $"index {Index}: " + string.Join("; ", Services);
}

/// <summary>One registered service instance, as the stand-in holds it.</summary>
public sealed record RegisteredService(
    string Id,
    string Name,
    string Address,
    int Port,
    IReadOnlyList<string> Tags,
    IReadOnlyDictionary<string, string> Meta,
    bool EnableTagOverride,
    IReadOnlyList<RegisteredCheck> Checks,
    ulong CreateIndex,
    ulong ModifyIndex)
{
    /// <summary>Whether every check is passing (an instance without checks is).</summary>
    public bool IsPassing => Checks.All(c => c.Status == CheckStatus.Passing);

    /// <summary>The worst status of its checks: critical, then warning, then passing.</summary>
    public string Status =>
        Checks.Any(c => c.Status == CheckStatus.Critical) ? CheckStatus.Critical
        : Checks.Any(c => c.Status == CheckStatus.Warning) ? CheckStatus.Warning
        : CheckStatus.Passing;

    /// <summary>The check with this ID (for a service's own check, <c>service:&lt;id&gt;</c>).</summary>
    public RegisteredCheck? Check(string checkId) => Checks.FirstOrDefault(c => c.CheckId == checkId);

    public override string ToString() => $"{Id} ({Name}) at {Address}:{Port} {Status}";
}

/// <summary>
/// One check of a registered service. <see cref="Type"/> is Consul's: <c>ttl</c> or <c>http</c> (the
/// two kinds the stand-in runs); durations are null when not set.
/// </summary>
public sealed record RegisteredCheck(
    string CheckId,
    string Name,
    string ServiceId,
    string ServiceName,
    string Type,
    string Status,
    string Output,
    string Notes,
    string? Http,
    TimeSpan? Ttl,
    TimeSpan? Interval,
    TimeSpan? Timeout,
    TimeSpan? DeregisterCriticalServiceAfter,
    ulong CreateIndex,
    ulong ModifyIndex);

/// <summary>One request the stand-in received, in the order received.</summary>
public sealed record ConsulRequest(string Method, string Path, string QueryString)
{
    /// <summary>Method, path and query, e.g. <c>GET /v1/health/service/accounts?passing&amp;index=12</c>.</summary>
    public override string ToString() => $"{Method} {Path}{QueryString}";
}
