using Yarp.ReverseProxy;

namespace Gateway.Downstream;

/// <summary>
/// Sends a call addressed to http://users/... to a destination of the proxy's cluster "users", so the
/// aggregation and the proxied routes use the same instances: those Consul names, as the proxy has them.
/// </summary>
public sealed class ClusterAddressHandler(IProxyStateLookup proxyState) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var clusterId = request.RequestUri!.Host;
        if (!proxyState.TryGetCluster(clusterId, out var cluster))
        {
            throw new HttpRequestException($"The gateway has no cluster '{clusterId}'.");
        }

        var destinations = cluster.DestinationsState?.AvailableDestinations ?? [];
        if (destinations.Count == 0)
        {
            throw new HttpRequestException($"The cluster '{clusterId}' has no available destination.");
        }

        var destination = destinations[Random.Shared.Next(destinations.Count)];
        request.RequestUri = new Uri(destination.Model.Config.Address.TrimEnd('/') + request.RequestUri.PathAndQuery);
        return base.SendAsync(request, cancellationToken);
    }
}
