using System.Reflection;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ServiceDefaults.Cqrs;

/// <summary>
/// Commands and queries through MediatR: an endpoint sends a request, one handler answers it, and the
/// pipeline behaviours around every handler do the cross-cutting work (outside in: logging, then
/// validation). MediatR 5 comes without a container integration, so the registration is by hand:
/// MediatR asks the container for what it needs through <see cref="ServiceFactory"/>.
/// </summary>
public static class Mediation
{
    public static IHostApplicationBuilder AddMediation(this IHostApplicationBuilder builder, Assembly handlers)
    {
        var services = builder.Services;
        services.AddScoped<ServiceFactory>(provider => provider.GetService!);
        services.AddScoped<IMediator, Mediator>();

        // Every request handler of the service's assembly: one class per use case (Features/).
        foreach (var type in handlers.GetTypes().Where(t => t is { IsClass: true, IsAbstract: false, IsGenericTypeDefinition: false }))
        {
            foreach (var contract in type.GetInterfaces().Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IRequestHandler<,>)))
            {
                services.AddScoped(contract, type);
            }
        }

        // Registered in the order they wrap the handler: the first is the outermost.
        services.AddScoped(typeof(IPipelineBehavior<,>), typeof(LoggingBehavior<,>));
        services.AddScoped(typeof(IPipelineBehavior<,>), typeof(ValidationBehavior<,>));

        // What a handler throws for a request it refuses becomes the 4xx it names.
        services.AddExceptionHandler<RequestProblemHandler>();
        return builder;
    }
}
