using System.Diagnostics;
using MediatR;
using Microsoft.Extensions.Logging;

namespace ServiceDefaults.Cqrs;

/// <summary>A request that checks its own fields: each error names the field it is about.</summary>
public interface IValidatedRequest
{
    Dictionary<string, string[]> Validate();
}

/// <summary>Runs a request's own checks before its handler; a request that fails them never reaches it.</summary>
public sealed class ValidationBehavior<TRequest, TResponse> : IPipelineBehavior<TRequest, TResponse>
{
    public Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        if (request is IValidatedRequest validated && validated.Validate() is { Count: > 0 } errors)
        {
            throw new RequestValidationException(errors);
        }

        return next();
    }
}

/// <summary>
/// One log line per request that a handler refused or failed, with how long it took; requests that
/// succeed are logged at Debug (Logging:LogLevel:ServiceDefaults.Cqrs), since each service logs its own
/// business lines ("Created user 7").
/// </summary>
public sealed partial class LoggingBehavior<TRequest, TResponse>(ILogger<LoggingBehavior<TRequest, TResponse>> logger)
    : IPipelineBehavior<TRequest, TResponse>
{
    private static readonly string RequestName = typeof(TRequest).Name;

    public async Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var response = await next();
            LogHandled(logger, RequestName, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return response;
        }
        catch (RequestProblemException problem)
        {
            LogRefused(logger, RequestName, problem.Status, problem.Title, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            throw;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFailed(logger, RequestName, e.GetType().Name, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            throw;
        }
    }

    [LoggerMessage(LogLevel.Debug, "{Request} handled in {ElapsedMs:0.0} ms")]
    private static partial void LogHandled(ILogger logger, string request, double elapsedMs);

    [LoggerMessage(LogLevel.Information, "{Request} refused with {Status} {Title} in {ElapsedMs:0.0} ms")]
    private static partial void LogRefused(ILogger logger, string request, int status, string title, double elapsedMs);

    [LoggerMessage(LogLevel.Warning, "{Request} failed with {Exception} after {ElapsedMs:0.0} ms")]
    private static partial void LogFailed(ILogger logger, string request, string exception, double elapsedMs);
}
