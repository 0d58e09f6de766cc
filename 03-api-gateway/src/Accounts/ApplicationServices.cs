using Accounts.Data;
using ServiceDefaults;

namespace Accounts;

public static class ApplicationServices
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddSqliteDatabase<AccountsDb>();
        return builder;
    }
}
