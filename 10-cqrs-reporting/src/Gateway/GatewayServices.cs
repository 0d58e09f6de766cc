using Gateway.Apis;
using Gateway.Authentication;
using Gateway.Downstream;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ServiceDefaults.Resilience;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Transforms;

namespace Gateway;

public static class GatewayServices
{
    public static IHostApplicationBuilder AddGatewayServices(this IHostApplicationBuilder builder)
    {
        // Routes and clusters come from the "ReverseProxy" section of appsettings.json. A cluster's
        // destination names a service (http://accounts), not an address: the destination resolver asks
        // service discovery, the same Consul provider users calls accounts through, for its healthy
        // instances, and YARP applies the new list each time Consul reports a change.
        builder.Services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
            .AddServiceDiscoveryDestinationResolver()
            .AddTransforms(route =>
            {
                // The API key stays at the gateway: every route, also one added later, drops the header
                // that carries it. Its name is read per request: the routes load before the host has
                // checked the settings, whose own message should say what is wrong with them.
                var apiKey = route.Services.GetRequiredService<IOptionsMonitor<ApiKeyOptions>>();
                route.AddRequestTransform(forward =>
                {
                    RequestTransform.RemoveHeader(forward, apiKey.CurrentValue.HeaderName);
                    return ValueTask.CompletedTask;
                });
            });
        DestinationAddressCheck.Register(builder.Services);
        builder.Services.AddSingleton<IConfigChangeListener, DestinationLog>();
        builder.AddProxyErrorDetails();

        builder.AddApiKeyAuthentication();
        builder.Services.AddAuthorization();
        // One evaluator for every request, in place of the framework's, which is made anew for each.
        builder.Services.Replace(ServiceDescriptor.Singleton<IPolicyEvaluator, GatewayPolicyEvaluator>());

        // The aggregation calls the services at the addresses of the proxy's own clusters
        // (http://users/ is cluster "users"), within OverviewOptions.Timeout.
        builder.Services.AddOptions<OverviewOptions>()
            .Bind(builder.Configuration.GetSection(OverviewOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        // The overview's XML in the OpenAPI document, as the gateway writes it.
        builder.Services.ConfigureAll<OpenApiOptions>(openApi => openApi.AddSchemaTransformer<OverviewXmlSchema>());
        builder.Services.AddTransient<ClusterAddressHandler>();
        AddDownstreamClient<UsersClient>(builder.Services, "users");
        // The overview's call to accounts is protected as users' is (Resilience:Accounts), with its own
        // circuit: this gateway falls back to an overview without the accounts list.
        AddDownstreamClient<AccountsClient>(builder.Services, "accounts", resilience: "Accounts");

        return builder;
    }

    private static void AddDownstreamClient<TClient>(IServiceCollection services, string clusterId, string? resilience = null) where TClient : class
    {
        var http = services.AddHttpClient<TClient>((provider, http) =>
        {
            http.BaseAddress = new Uri($"http://{clusterId}/");
            http.Timeout = provider.GetRequiredService<IOptions<OverviewOptions>>().Value.Timeout;
        });
        if (resilience is not null)
        {
            // Before the cluster's address is chosen, so that a retry may go to another destination.
            http.AddCallResilience(resilience);
        }

        http.AddHttpMessageHandler<ClusterAddressHandler>()
            // As the proxy does: never through a web proxy set in the environment, which cannot reach the services.
            .UseSocketsHttpHandler((handler, _) => handler.UseProxy = false);
    }
}
