using Accounts.Data;
using Messaging;
using ServiceDefaults.Cqrs;
using Storage;

namespace Accounts;

public static class ApplicationServices
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddSqliteDatabase<AccountsDb>();

        // Commands and queries (Features/) through MediatR; the events they record go out through the outbox.
        builder.AddMediation(typeof(ApplicationServices).Assembly);
        builder.AddOutbox<AccountsDb>();
        return builder;
    }
}
