using Accounts.Data;
using Storage;

namespace Accounts;

public static class ApplicationServices
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddSqliteDatabase<AccountsDb>();
        return builder;
    }
}
