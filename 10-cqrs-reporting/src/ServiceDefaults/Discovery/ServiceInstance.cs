using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ServiceDefaults.Discovery;

/// <summary>
/// Who this running instance is: its service name, the address and port others reach it at, and the
/// ID it has in Consul (<c>accounts-127.0.0.1-8002</c>, <c>accounts-3f9c2a1b7d4e-8080</c> in a container).
/// Known once the server listens, since the port may be chosen at start (<c>--urls http://127.0.0.1:0</c>).
/// </summary>
public sealed class ServiceInstance(IServer server, IOptions<ConsulOptions> options, IHostEnvironment environment)
{
    private readonly Lazy<(string Address, int Port)> _endpoint = new(() => Resolve(server, options.Value));

    public string ServiceName => options.Value.ServiceName ?? environment.ApplicationName.ToLowerInvariant();

    public string Address => _endpoint.Value.Address;

    public int Port => _endpoint.Value.Port;

    /// <summary>Unique while the instance runs; the same again when it restarts at the same address, so it replaces its old entry.</summary>
    public string Id => $"{ServiceName}-{Address}-{Port}";

    private static (string, int) Resolve(IServer server, ConsulOptions options)
    {
        var listening = server.Features.Get<IServerAddressesFeature>()?.Addresses
            .Select(a => BindingAddress.Parse(a))
            .FirstOrDefault(a => a.Scheme == "http")
            ?? throw new InvalidOperationException("The service listens on no http:// address to register in Consul.");

        var host = options.ServiceAddress
            ?? listening.Host switch
            {
                // Every interface, as in a container: the host name, which the compose network resolves.
                "+" or "*" or "0.0.0.0" or "[::]" or "::" => Environment.MachineName.ToLowerInvariant(),
                "localhost" => "127.0.0.1",
                var given => given,
            };
        return (host, listening.Port);
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
