using Messaging.Outbox;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Messaging;

public static class MessagingExtensions
{
    /// <summary>Binds and checks the "RabbitMq" section (<see cref="RabbitMqOptions"/>).</summary>
    public static IHostApplicationBuilder AddRabbitMqOptions(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RabbitMqOptions>()
            .Bind(builder.Configuration.GetSection(RabbitMqOptions.SectionName))
            .ValidateDataAnnotations()
            .Validate(o => o.Uri is null or { IsAbsoluteUri: true, Scheme: "amqp" or "amqps" },
                "RabbitMq:Uri must be an amqp:// or amqps:// address, such as amqp://guest:guest@localhost:5672/ (RabbitMq__Uri=...).")
            .ValidateOnStart();
        return builder;
    }

    /// <summary>
    /// The outbox of <typeparamref name="TContext"/> (whose model calls <see cref="OutboxModel.AddOutbox"/>)
    /// and its relay to RabbitMQ, which starts and stops with the service.
    /// </summary>
    public static IHostApplicationBuilder AddOutbox<TContext>(this IHostApplicationBuilder builder)
        where TContext : DbContext
    {
        builder.AddRabbitMqOptions();
        builder.Services.AddSingleton<OutboxSignal>();
        builder.Services.AddSingleton<OutboxCommitInterceptor>();
        builder.Services.ConfigureDbContext<TContext>((services, options) => options.AddInterceptors(services.GetRequiredService<OutboxCommitInterceptor>()));
        builder.Services.AddHostedService<OutboxRelay<TContext>>();
        OutboxMetrics.Publish();
        return builder;
    }
}
