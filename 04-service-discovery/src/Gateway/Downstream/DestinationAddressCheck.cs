using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Configuration.ClusterValidators;

namespace Gateway.Downstream;

/// <summary>
/// Refuses a cluster whose destination is not an http:// or https:// address: "localhost:8001" (the
/// scheme left out) would otherwise load, and every call to it fail. YARP runs it with its own checks
/// of every cluster: at start the gateway then does not start; an edit made while it runs is not
/// applied, and YARP keeps the clusters it had and logs why.
/// </summary>
public sealed class DestinationAddressCheck : IClusterValidator
{
    public ValueTask ValidateAsync(ClusterConfig cluster, IList<Exception> errors)
    {
        foreach (var (name, destination) in cluster.Destinations ?? new Dictionary<string, DestinationConfig>())
        {
            // An empty address is YARP's own check's to report.
            if (!string.IsNullOrEmpty(destination.Address) &&
                (!Uri.TryCreate(destination.Address, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https")))
            {
                errors.Add(new InvalidOperationException(
                    $"ReverseProxy:Clusters:{cluster.ClusterId}:Destinations:{name}:Address is '{destination.Address}', not an http:// or https:// address such as http://localhost:8001/."));
            }
        }

        return ValueTask.CompletedTask;
    }
}
