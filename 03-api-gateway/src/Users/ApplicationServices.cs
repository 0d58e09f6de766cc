using Microsoft.Extensions.Options;
using Storage;
using Users.Clients;
using Users.Data;

namespace Users;

public static class ApplicationServices
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddSqliteDatabase<UsersDb>();

        builder.Services.AddOptions<AccountsClientOptions>()
            .Bind(builder.Configuration.GetSection(AccountsClientOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddHttpClient<AccountsClient>((services, http) =>
        {
            var options = services.GetRequiredService<IOptions<AccountsClientOptions>>().Value;
            http.BaseAddress = options.BaseAddress;
            http.Timeout = options.Timeout;
        });

        return builder;
    }
}
