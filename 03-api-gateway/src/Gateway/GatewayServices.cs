using Gateway.Apis;
using Gateway.Authentication;
using Gateway.Downstream;
using Microsoft.Extensions.Options;

namespace Gateway;

public static class GatewayServices
{
    public static IHostApplicationBuilder AddGatewayServices(this IHostApplicationBuilder builder)
    {
        // Routes and clusters come from the "ReverseProxy" section of appsettings.json.
        builder.Services.AddReverseProxy().LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"));
        builder.AddProxyErrorDetails();

        builder.AddApiKeyAuthentication();
        builder.Services.AddAuthorization();

        // The aggregation calls the services at the addresses of the proxy's own clusters
        // (http://users/ is cluster "users"), within OverviewOptions.Timeout.
        builder.Services.AddOptions<OverviewOptions>()
            .Bind(builder.Configuration.GetSection(OverviewOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddTransient<ClusterAddressHandler>();
        builder.Services.AddHttpClient<UsersClient>(ConfigureDownstream("users")).AddHttpMessageHandler<ClusterAddressHandler>();
        builder.Services.AddHttpClient<AccountsClient>(ConfigureDownstream("accounts")).AddHttpMessageHandler<ClusterAddressHandler>();

        return builder;
    }

    private static Action<IServiceProvider, HttpClient> ConfigureDownstream(string clusterId) => (services, http) =>
    {
        http.BaseAddress = new Uri($"http://{clusterId}/");
        http.Timeout = services.GetRequiredService<IOptions<OverviewOptions>>().Value.Timeout;
    };
}
