using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.ServiceDiscovery;

namespace ServiceDefaults.Discovery;

public static class DiscoveryExtensions
{
    /// <summary>
    /// Registers this service in Consul, and lets any HttpClient with <c>.AddServiceDiscovery()</c>
    /// find the services it calls by name: first through Consul, then from configuration
    /// (<c>Services:accounts:http:0</c>) while Consul has named none, then the address as written.
    /// </summary>
    public static IHostApplicationBuilder AddConsulDiscovery(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ConsulOptions>()
            .Bind(builder.Configuration.GetSection(ConsulOptions.SectionName))
            .ValidateDataAnnotations()
            .Validate(o => o.Address is null or { IsAbsoluteUri: true, Scheme: "http" or "https" },
                "Consul:Address must be an http:// or https:// address, such as http://localhost:8500 (Consul__Address=...).")
            .Validate(o => o.ServiceNetwork is null || ServiceInstance.IsIPv4Network(o.ServiceNetwork),
                "Consul:ServiceNetwork must be an IPv4 network in CIDR notation, such as 10.20.0.0/16 (Consul__ServiceNetwork=...).")
            .ValidateOnStart();

        builder.Services.AddHttpClient<ConsulClient>((services, http) =>
            {
                http.BaseAddress = services.GetRequiredService<IOptions<ConsulOptions>>().Value.Address;
                // Each call sets its own limit: a blocking query waits far longer than a write.
                http.Timeout = Timeout.InfiniteTimeSpan;
            })
            .UseSocketsHttpHandler((handler, _) => handler.UseProxy = false);
        // The "do you still know me" call every few seconds would be four log lines each: the client logs what matters itself.
        builder.Logging.AddFilter("System.Net.Http.HttpClient.ConsulClient", LogLevel.Warning);

        builder.Services.AddSingleton<ServiceInstance>();
        builder.Services.AddHostedService<ConsulRegistration>();

        builder.Services.AddSingleton<ConsulServiceWatchers>();
        builder.Services.AddServiceDiscoveryCore();
        // Asked in this order; each of the later ones adds endpoints only where the ones before added none.
        builder.Services.AddSingleton<IServiceEndpointProviderFactory, ConsulEndpointProviderFactory>();
        builder.Services.AddConfigurationServiceEndpointProvider();
        builder.Services.AddPassThroughServiceEndpointProvider();
        return builder;
    }

    /// <summary>Says in every answer which instance gave it.</summary>
    public static WebApplication UseInstanceHeader(this WebApplication app)
    {
        app.UseMiddleware<InstanceHeaderMiddleware>();
        return app;
    }
}
