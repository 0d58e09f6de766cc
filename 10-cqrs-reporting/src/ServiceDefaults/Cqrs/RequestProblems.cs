using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace ServiceDefaults.Cqrs;

/// <summary>
/// A request a handler refuses: the status, title and detail of the ProblemDetails the caller gets
/// (404 for something that does not exist, 409 for a conflict with what is stored, 502/503 for a
/// service this one needed). Thrown by handlers; <see cref="RequestProblemHandler"/> writes it.
/// </summary>
public class RequestProblemException(int status, string title, string detail) : Exception(detail)
{
    public int Status { get; } = status;

    public string Title { get; } = title;

    public string Detail { get; } = detail;

    public static RequestProblemException NotFound(string title, string detail) => new(StatusCodes.Status404NotFound, title, detail);

    public static RequestProblemException Conflict(string title, string detail) => new(StatusCodes.Status409Conflict, title, detail);
}

/// <summary>A request whose fields fail their checks (<see cref="IValidatedRequest"/>): a 400 naming each field.</summary>
public sealed class RequestValidationException(Dictionary<string, string[]> errors)
    : RequestProblemException(StatusCodes.Status400BadRequest, "One or more validation errors occurred.", string.Join(" ", errors.SelectMany(e => e.Value)))
{
    public Dictionary<string, string[]> Errors { get; } = errors;
}

/// <summary>
/// A problem another service answered, passed on to the caller as it came: its status and its own
/// ProblemDetails document (users passes on accounts' 400 that names the field).
/// </summary>
public sealed class ForwardedProblemException(int status, string problemJson)
    : RequestProblemException(status, "Problem of another service", problemJson)
{
    public string ProblemJson { get; } = problemJson;
}

/// <summary>Writes what a handler refused as the same typed results the endpoints answered with before.</summary>
internal sealed class RequestProblemHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        IResult? result = exception switch
        {
            RequestValidationException invalid => TypedResults.ValidationProblem(invalid.Errors),
            ForwardedProblemException forwarded => TypedResults.Content(forwarded.ProblemJson, "application/problem+json", statusCode: forwarded.Status),
            RequestProblemException problem => TypedResults.Problem(statusCode: problem.Status, title: problem.Title, detail: problem.Detail),
            _ => null,
        };
        if (result is null)
        {
            return false;
        }

        await result.ExecuteAsync(context);
        return true;
    }
}
