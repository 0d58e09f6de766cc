using Storage;
using Users.Data;

namespace Users;

public static class ApplicationServices
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddSqliteDatabase<UsersDb>();
        return builder;
    }
}
