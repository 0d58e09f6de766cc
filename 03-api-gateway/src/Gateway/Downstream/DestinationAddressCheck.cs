using Yarp.ReverseProxy.Configuration;

namespace Gateway.Downstream;

/// <summary>
/// Refuses a cluster whose destination is not an http:// or https:// address: "localhost:8001" (the
/// scheme left out) would otherwise load, and every call to it fail. At start the gateway then does not
/// start; an edit made while it runs is not applied, and YARP keeps the clusters it had and logs why.
/// </summary>
public sealed class DestinationAddressCheck : IProxyConfigFilter
{
    public ValueTask<ClusterConfig> ConfigureClusterAsync(ClusterConfig cluster, CancellationToken cancel)
    {
        foreach (var (name, destination) in cluster.Destinations ?? new Dictionary<string, DestinationConfig>())
        {
            if (!Uri.TryCreate(destination.Address, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
            {
                throw new InvalidOperationException(
                    $"ReverseProxy:Clusters:{cluster.ClusterId}:Destinations:{name}:Address is '{destination.Address}', not an http:// or https:// address such as http://localhost:8001/.");
            }
        }

        return ValueTask.FromResult(cluster);
    }

    public ValueTask<RouteConfig> ConfigureRouteAsync(RouteConfig route, ClusterConfig? cluster, CancellationToken cancel) =>
        ValueTask.FromResult(route);
}
