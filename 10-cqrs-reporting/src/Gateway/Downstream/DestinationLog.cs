using Yarp.ReverseProxy.Configuration;

namespace Gateway.Downstream;

/// <summary>
/// One log line each time the proxy applies its configuration, naming where each cluster now sends
/// requests: "Routing accounts to 127.0.0.1:8002, 127.0.0.1:8003; users to 127.0.0.1:8001". The proxy
/// applies once at start and once for each change service discovery reports (Consul's list of
/// healthy instances changed); a blocking query that returns with the same list applies nothing, so
/// neither does it log.
/// </summary>
public sealed partial class DestinationLog(ILogger<DestinationLog> logger) : IConfigChangeListener
{
    public void ConfigurationApplied(IReadOnlyList<IProxyConfig> proxyConfigs)
    {
        var clusters = proxyConfigs
            .SelectMany(config => config.Clusters)
            .OrderBy(cluster => cluster.ClusterId, StringComparer.Ordinal)
            .Select(cluster => $"{cluster.ClusterId} to {Destinations(cluster)}");
        LogApplied(logger, string.Join("; ", clusters));
    }

    public void ConfigurationApplyingFailed(IReadOnlyList<IProxyConfig> proxyConfigs, Exception exception) =>
        LogNotApplied(logger, exception.GetBaseException().Message);

    public void ConfigurationLoaded(IReadOnlyList<IProxyConfig> proxyConfigs)
    {
    }

    public void ConfigurationLoadingFailed(IProxyConfigProvider configProvider, Exception exception)
    {
    }

    private static string Destinations(ClusterConfig cluster) =>
        cluster.Destinations is not { Count: > 0 } destinations
            ? "nowhere"
            : string.Join(", ", destinations.Values
                .Select(d => Uri.TryCreate(d.Address, UriKind.Absolute, out var address) ? address.Authority : d.Address)
                .Order(StringComparer.Ordinal));

    [LoggerMessage(LogLevel.Information, "Routing {Clusters}")]
    private static partial void LogApplied(ILogger logger, string clusters);

    [LoggerMessage(LogLevel.Warning, "The new destinations were not applied, the gateway routes as before: {Reason}")]
    private static partial void LogNotApplied(ILogger logger, string reason);
}
