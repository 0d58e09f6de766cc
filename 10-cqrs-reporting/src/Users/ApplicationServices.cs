using Messaging;
using Microsoft.Extensions.Options;
using ServiceDefaults.Cqrs;
using ServiceDefaults.Resilience;
using Storage;
using Users.Clients;
using Users.Data;

namespace Users;

public static class ApplicationServices
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddSqliteDatabase<UsersDb>();

        // Commands and queries (Features/) through MediatR; the events they record go out through the outbox.
        builder.AddMediation(typeof(ApplicationServices).Assembly);
        builder.AddOutbox<UsersDb>();

        builder.Services.AddOptions<AccountsClientOptions>()
            .Bind(builder.Configuration.GetSection(AccountsClientOptions.SectionName))
            .ValidateDataAnnotations()
            // "localhost:8002" would pass for an address with the scheme "localhost", and every call fail.
            .Validate(o => o.BaseAddress is null or { IsAbsoluteUri: true, Scheme: "http" or "https" },
                "AccountsClient:BaseAddress must be an http:// or https:// address, such as http://accounts (AccountsClient__BaseAddress=...).")
            .ValidateOnStart();
        builder.Services.AddHttpClient<AccountsClient>((services, http) =>
            {
                var options = services.GetRequiredService<IOptions<AccountsClientOptions>>().Value;
                http.BaseAddress = WithTrailingSlash(options.BaseAddress!);
            })
            // Timeouts, retries for GETs and a circuit breaker (Resilience:Accounts in appsettings.json).
            // Before service discovery, so that a retry picks an instance again.
            .AddCallResilience(AccountsClient.Service)
            // Straight to accounts, never through a web proxy set in the environment (HTTP_PROXY on a
            // company laptop, or the proxies Docker copies into containers from ~/.docker/config.json):
            // such a proxy cannot reach accounts.
            .UseSocketsHttpHandler((handler, _) => handler.UseProxy = false)
            // http://accounts names a service, not a host: each call goes to one of its healthy
            // instances in Consul, in turn (or to Services:accounts in configuration, while Consul names none).
            .AddServiceDiscovery()
            .AddHttpMessageHandler<AccountsInstanceHeader>();
        builder.Services.AddTransient<AccountsInstanceHeader>();
        builder.Services.AddHttpContextAccessor();

        return builder;
    }

    // A relative path resolves against the base address up to its last '/': with accounts behind a path,
    // http://proxy/accounts-service would send "accounts?userId=1" to http://proxy/accounts, not to
    // http://proxy/accounts-service/accounts.
    private static Uri WithTrailingSlash(Uri address) =>
        address.AbsolutePath.EndsWith('/') ? address : new UriBuilder(address) { Path = address.AbsolutePath + "/" }.Uri;
}
