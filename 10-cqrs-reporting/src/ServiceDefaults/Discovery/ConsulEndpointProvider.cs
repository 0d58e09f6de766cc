using System.Diagnostics.CodeAnalysis;
using System.Net;
using Microsoft.Extensions.ServiceDiscovery;

namespace ServiceDefaults.Discovery;

/// <summary>
/// Plugs Consul into .NET's service discovery (Microsoft.Extensions.ServiceDiscovery): a client whose
/// address is <c>http://accounts</c> and that has <c>.AddServiceDiscovery()</c> gets the healthy
/// accounts instances Consul knows, and the library spreads calls over them (round robin). When
/// Consul has named none yet, this adds nothing, and the next provider, configuration
/// (<c>Services:accounts:http:0</c>), gives the address to use instead.
/// </summary>
internal sealed class ConsulEndpointProviderFactory(ConsulServiceWatchers watchers) : IServiceEndpointProviderFactory
{
    public bool TryCreateProvider(ServiceEndpointQuery query, [NotNullWhen(true)] out IServiceEndpointProvider? provider)
    {
        // A service name is one DNS label ("accounts"); an address such as 127.0.0.1 or localhost is
        // no name to look up in Consul, and goes to the other providers as it is.
        var name = query.ServiceName;
        if (name.Contains('.') || name.Contains(':') || name.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            provider = null;
            return false;
        }

        provider = new ConsulEndpointProvider(watchers.For(name));
        return true;
    }
}

internal sealed class ConsulEndpointProvider(ConsulServiceWatcher watcher) : IServiceEndpointProvider
{
    /// <summary>How long the very first call waits for Consul's first answer before it uses configuration.</summary>
    private static readonly TimeSpan FirstAnswerWait = TimeSpan.FromSeconds(2);

    public async ValueTask PopulateAsync(IServiceEndpointBuilder endpoints, CancellationToken cancellationToken)
    {
        // Subscribe before reading, so a change in between is not missed.
        endpoints.AddChangeToken(watcher.ChangeToken);
        if (!watcher.FirstAnswer.IsCompleted)
        {
            await Task.WhenAny(watcher.FirstAnswer, Task.Delay(FirstAnswerWait, cancellationToken));
        }

        foreach (var instance in watcher.Instances)
        {
            EndPoint endPoint = IPAddress.TryParse(instance.Host, out var ip)
                ? new IPEndPoint(ip, instance.Port)
                : new DnsEndPoint(instance.Host, instance.Port);
            endpoints.Endpoints.Add(ServiceEndpoint.Create(endPoint));
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public override string ToString() => "Consul";
}
