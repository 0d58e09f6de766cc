using Prometheus;

namespace Users;

/// <summary>The users service's business counters, on <c>/metrics</c> beside .NET's own.</summary>
public static class UsersMetrics
{
    public static readonly Counter Created = Metrics.CreateCounter(
        "users_created_total", "Users created.");

    /// <summary>
    /// Creates the counter, so /metrics shows it at 0 from the start: a series that appeared only with
    /// its first increment would hide that increment from rate() and increase().
    /// </summary>
    public static void Publish() => _ = Created;
}
