using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Gateway.Downstream;

/// <summary>
/// When the proxy cannot forward a request, YARP answers 502, 503 or 504 with no body, and the
/// ProblemDetails the defaults write for it carries a title only. This adds which service failed
/// and how, e.g. "The users service could not be reached." A request the caller got wrong (a body
/// over the gateway's limit, 413) is not the service's failure: the defaults describe it.
/// The log gets the same, as one line, in place of YARP's own warning with its stack trace; a caller
/// that went away, or whose body could not be read, is an Information line that blames no service.
/// </summary>
public static partial class ProxyErrors
{
    /// <summary>YARP's own wait for a service that went quiet, when the cluster sets no HttpRequest:ActivityTimeout.</summary>
    private static readonly TimeSpan DefaultActivityTimeout = TimeSpan.FromSeconds(100);

    public static IHostApplicationBuilder AddProxyErrorDetails(this IHostApplicationBuilder builder)
    {
        builder.Services.PostConfigure<ProblemDetailsOptions>(options =>
        {
            var defaults = options.CustomizeProblemDetails;
            options.CustomizeProblemDetails = context =>
            {
                context.ProblemDetails.Detail ??= Describe(context.HttpContext);
                defaults?.Invoke(context);
            };
        });
        return builder;
    }

    /// <summary>
    /// One warning per request the proxy could not forward, e.g. "GET /api/users: The users service
    /// could not be reached (Connection refused (localhost:8001))". appsettings.json turns YARP's own
    /// warning for it off: one line that holds the exception's whole stack trace. When the caller's
    /// side failed (a load test stopping with requests in flight, a body over the limit), one
    /// Information line says so, and a caller that went away gets 499 in place of YARP's 400.
    /// </summary>
    public static IApplicationBuilder UseProxyErrorLog(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ProxyErrors));
        return app.Use(async (context, next) =>
        {
            await next(context);
            var error = context.Features.Get<IForwarderErrorFeature>();
            if (error is null)
            {
                return;
            }

            if (CallersSide(error.Error) is { } callers)
            {
                if (context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted)
                {
                    // YARP sets 400; ASP.NET Core's own code for a caller that went away is 499, as in the request log of the overview.
                    context.Response.StatusCode = StatusCodes.Status499ClientClosedRequest;
                }

                LogCallersSide(logger, context.Request.Method, context.Request.Path, callers, error.Error);
                return;
            }

            var failure = (Describe(context) ?? $"The request was not forwarded: {error.Error}").TrimEnd('.');
            if (error.Exception is null or OperationCanceledException)
            {
                // A wait that ran out, or a caller that went away: the failure says it all.
                LogProxyError(logger, context.Request.Method, context.Request.Path, failure);
            }
            else
            {
                LogProxyErrorWithReason(logger, context.Request.Method, context.Request.Path, failure, error.Exception.Message);
            }
        });
    }

    [LoggerMessage(LogLevel.Warning, "{Method} {Path}: {Failure}")]
    private static partial void LogProxyError(ILogger logger, string method, string path, string failure);

    [LoggerMessage(LogLevel.Warning, "{Method} {Path}: {Failure} ({Reason})")]
    private static partial void LogProxyErrorWithReason(ILogger logger, string method, string path, string failure, string reason);

    [LoggerMessage(LogLevel.Information, "{Method} {Path}: {What}; no service failed ({Error})")]
    private static partial void LogCallersSide(ILogger logger, string method, string path, string what, ForwarderError error);

    /// <summary>What went wrong on the caller's side of the proxy, or null when it was the service's side.</summary>
    private static string? CallersSide(ForwarderError error) => error switch
    {
        ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.ResponseBodyCanceled
            or ForwarderError.UpgradeRequestCanceled or ForwarderError.UpgradeResponseCanceled => "the caller went away before the answer was complete",
        ForwarderError.RequestBodyClient or ForwarderError.UpgradeRequestClient => "the caller's request could not be read",
        ForwarderError.ResponseBodyClient or ForwarderError.UpgradeResponseClient => "the answer could not be sent to the caller",
        _ => null,
    };

    private static string? Describe(HttpContext context)
    {
        var error = context.Features.Get<IForwarderErrorFeature>();
        var proxy = context.Features.Get<IReverseProxyFeature>();
        if (error is null || proxy is null)
        {
            return null;
        }

        // The clusters are named after the services they send to.
        var service = proxy.Cluster.Config.ClusterId;
        return error.Error switch
        {
            ForwarderError.Request or ForwarderError.RequestCreation => $"The {service} service could not be reached.",
            ForwarderError.RequestTimedOut =>
                $"The {service} service did not answer within {(proxy.Cluster.Config.HttpRequest?.ActivityTimeout ?? DefaultActivityTimeout).TotalSeconds:0.#} s.",
            ForwarderError.NoAvailableDestinations => $"The {service} service has no address to send the request to.",
            // The caller's side failed: its body broke off or was too large, or it went away.
            _ when CallersSide(error.Error) is not null => null,
            _ => $"The {service} service could not answer.",
        };
    }
}
