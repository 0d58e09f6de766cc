using HealthChecks.RabbitMQ;
using Messaging;
using Reporting.Data;
using Reporting.Projection;
using ServiceDefaults;
using ServiceDefaults.Cqrs;
using Storage;

namespace Reporting;

public static class ApplicationServices
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        // The read model: its own SQLite file, rebuilt from the events alone.
        builder.AddSqliteDatabase<ReportingDb>();

        // The queries (Features/Reports/) through MediatR.
        builder.AddMediation(typeof(ApplicationServices).Assembly);

        // The events from RabbitMQ into the projection.
        builder.AddRabbitMqOptions();
        builder.Services.AddScoped<ReportProjection>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<EventConsumer>();
        builder.Services.AddHostedService(services => services.GetRequiredService<EventConsumer>());

        // Ready only while consuming: the check opens a channel on the consumer's own connection.
        builder.Services.AddHealthChecks().AddRabbitMQ(
            services => services.GetRequiredService<EventConsumer>().ConnectionAsync(),
            name: "rabbitmq", tags: [HealthEndpoints.ReadyTag], timeout: TimeSpan.FromSeconds(2));
        return builder;
    }
}
