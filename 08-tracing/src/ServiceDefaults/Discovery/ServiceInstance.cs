using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ServiceDefaults.Discovery;

/// <summary>
/// Who this running instance is: its service name, the address and port others reach it at, and the
/// ID it has in Consul (<c>accounts-127.0.0.1-8002</c>, <c>accounts-3f9c2a1b7d4e-8080</c> in a container,
/// <c>accounts-10.20.0.7-8080</c> with <c>Consul:ServiceNetwork</c> set to the containers' network).
/// Known once the server listens, since the port may be chosen at start (<c>--urls http://127.0.0.1:0</c>).
/// </summary>
public sealed class ServiceInstance(IServer server, IOptions<ConsulOptions> options, IHostEnvironment environment)
{
    private readonly Lazy<(string Address, int Port)> _endpoint = Endpoint(server, options.Value);

    public string ServiceName => options.Value.ServiceName ?? environment.ApplicationName.ToLowerInvariant();

    public string Address => _endpoint.Value.Address;

    public int Port => _endpoint.Value.Port;

    /// <summary>Unique while the instance runs; the same again when it restarts at the same address, so it replaces its old entry.</summary>
    public string Id => $"{ServiceName}-{Address}-{Port}";

    private static Lazy<(string, int)> Endpoint(IServer server, ConsulOptions options)
    {
        // The address in the network is found now, as the host starts (the registration is created with
        // this instance): a network this machine has no address in stops the start, with a non-zero
        // exit code, instead of failing a service that already serves.
        var networkAddress = options is { ServiceAddress: null, ServiceNetwork: { } network } && IsIPv4Network(network)
            ? AddressIn(IPNetwork.Parse(network))
            : null;
        return new(() => Resolve(server, options, networkAddress));
    }

    private static (string, int) Resolve(IServer server, ConsulOptions options, string? networkAddress)
    {
        var listening = server.Features.Get<IServerAddressesFeature>()?.Addresses
            .Select(a => BindingAddress.Parse(a))
            .FirstOrDefault(a => a.Scheme == "http")
            ?? throw new InvalidOperationException("The service listens on no http:// address to register in Consul.");

        var host = options.ServiceAddress
            ?? networkAddress
            ?? listening.Host switch
            {
                // Every interface, as in a container: the host name, which the compose network resolves.
                "+" or "*" or "0.0.0.0" or "[::]" or "::" => Environment.MachineName.ToLowerInvariant(),
                "localhost" => "127.0.0.1",
                var given => given,
            };
        return (host, listening.Port);
    }

    /// <summary>Whether <paramref name="value"/> names an IPv4 network in CIDR notation, such as 10.20.0.0/16.</summary>
    public static bool IsIPv4Network(string value) =>
        IPNetwork.TryParse(value, out var network) && network.BaseAddress.AddressFamily == AddressFamily.InterNetwork;

    /// <summary>
    /// The IPv4 address of this machine's interface inside <paramref name="network"/>: in a container on
    /// several networks (a Swarm service is also on the ingress network), the one other instances share.
    /// </summary>
    private static string AddressIn(IPNetwork network)
    {
        var addresses = NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Select(u => u.Address)
            .Where(a => a.AddressFamily == AddressFamily.InterNetwork)
            .ToList();
        return addresses.FirstOrDefault(network.Contains)?.ToString()
            ?? throw new InvalidOperationException(
                $"No network interface of this machine has an address in Consul:ServiceNetwork {network}; its IPv4 addresses are {(addresses.Count == 0 ? "none" : string.Join(", ", addresses))}.");
    }
}

/// <summary>
/// Every answer says which instance gave it (<c>X-Instance: accounts-127.0.0.1-8002</c>), so balancing
/// shows with curl. An answer that already says so keeps its own: one the gateway passes on names the
/// service instance behind it, not the gateway.
/// </summary>
internal sealed class InstanceHeaderMiddleware
{
    public const string HeaderName = "X-Instance";

    private readonly RequestDelegate _next;
    private readonly ServiceInstance _instance;
    private readonly Func<object, Task> _addIfAbsent;

    public InstanceHeaderMiddleware(RequestDelegate next, ServiceInstance instance)
    {
        _next = next;
        _instance = instance;
        _addIfAbsent = AddIfAbsent;
    }

    public Task InvokeAsync(HttpContext context)
    {
        context.Response.OnStarting(_addIfAbsent, context.Response);
        return _next(context);
    }

    private Task AddIfAbsent(object state)
    {
        // Read here, not when the pipeline is built: the instance knows its port once the server listens.
        ((HttpResponse)state).Headers.TryAdd(HeaderName, _instance.Id);
        return Task.CompletedTask;
    }
}
