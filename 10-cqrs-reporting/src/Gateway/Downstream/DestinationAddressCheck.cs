using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Configuration.ClusterValidators;
using Yarp.ReverseProxy.ServiceDiscovery;

namespace Gateway.Downstream;

/// <summary>
/// Refuses a cluster whose destination is not an http:// or https:// address: "localhost:8001" (the
/// scheme left out) would otherwise load, and every call to it fail. YARP runs it with its own checks
/// of every cluster: at start the gateway then does not start; an edit made while it runs is not
/// applied, and YARP keeps the clusters it had and logs why.
/// </summary>
public sealed class DestinationAddressCheck : IClusterValidator
{
    /// <summary>
    /// Registers the check, and puts it before service discovery: a cluster with an address that is
    /// not one reaches the check as written, so the error names its setting. Service discovery would
    /// fail on it first, with a message that names neither the cluster nor the address.
    /// </summary>
    public static void Register(IServiceCollection services)
    {
        services.AddSingleton<IClusterValidator, DestinationAddressCheck>();
        var serviceDiscovery = services.Last(d => d.ServiceType == typeof(IDestinationResolver));
        services.Remove(serviceDiscovery);
        services.AddSingleton<IDestinationResolver>(provider => new ResolveOnlyHttpAddresses(
            (IDestinationResolver)ActivatorUtilities.CreateInstance(provider, serviceDiscovery.ImplementationType!)));
    }

    private static bool IsHttpAddress(string? address) =>
        Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";

    /// <summary>Resolves a cluster's destinations when every address is an http:// or https:// one; else leaves them as written.</summary>
    private sealed class ResolveOnlyHttpAddresses(IDestinationResolver serviceDiscovery) : IDestinationResolver
    {
        public ValueTask<ResolvedDestinationCollection> ResolveDestinationsAsync(IReadOnlyDictionary<string, DestinationConfig> destinations, CancellationToken cancellationToken) =>
            destinations.Values.All(d => IsHttpAddress(d.Address))
                ? serviceDiscovery.ResolveDestinationsAsync(destinations, cancellationToken)
                : ValueTask.FromResult(new ResolvedDestinationCollection(destinations, changeToken: null));
    }

    public ValueTask ValidateAsync(ClusterConfig cluster, IList<Exception> errors)
    {
        foreach (var (name, destination) in cluster.Destinations ?? new Dictionary<string, DestinationConfig>())
        {
            // An empty address is YARP's own check's to report.
            if (!string.IsNullOrEmpty(destination.Address) && !IsHttpAddress(destination.Address))
            {
                errors.Add(new InvalidOperationException(
                    $"ReverseProxy:Clusters:{cluster.ClusterId}:Destinations:{name}:Address is '{destination.Address}', not an http:// or https:// address such as http://users or http://localhost:8001/."));
            }
        }

        return ValueTask.CompletedTask;
    }
}
