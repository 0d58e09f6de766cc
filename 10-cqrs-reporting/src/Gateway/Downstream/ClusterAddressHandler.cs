using Yarp.ReverseProxy;

namespace Gateway.Downstream;

/// <summary>
/// Sends a call addressed to http://users/... to a destination of the proxy's cluster "users", so the
/// aggregation and the proxied routes use the same instances: those Consul names, as the proxy has them.
/// </summary>
public sealed class ClusterAddressHandler(IProxyStateLookup proxyState) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
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
        var address = request.RequestUri;
        request.RequestUri = new Uri(destination.Model.Config.Address.TrimEnd('/') + address.PathAndQuery);
        try
        {
            return await base.SendAsync(request, cancellationToken);
        }
        finally
        {
            // A retry sends the same request again: it must name the cluster again, not this destination.
            request.RequestUri = address;
        }
    }
}
