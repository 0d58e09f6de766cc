using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace ServiceDefaults;

/// <summary>
/// Writes a ProblemDetails, as JSON, also for a caller whose Accept header leaves JSON out, such as
/// `Accept: application/xml` or `Accept: text/html` (with no */*). ASP.NET Core's own writer declines
/// such a request, and the caller would get "Status Code: 404; Not Found" as plain text, a 400 with
/// an empty body, or a 500 where the code requires a writer (the gateway's 401). HTTP lets a server
/// disregard Accept instead of answering 406 (RFC 9110, section 12.5.1), and an error the caller can
/// read beats one it cannot.
/// Registered after the framework's writer, this one is asked only when that one declined, and it
/// hands the writing back to it: the answer is the one a JSON caller gets, with its type, title,
/// traceId and the details AddServiceDefaults adds.
/// </summary>
internal sealed class ProblemDetailsForAnyAccept : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context) =>
        context.HttpContext.RequestServices.GetServices<IProblemDetailsWriter>()
            .First(writer => writer is not ProblemDetailsForAnyAccept)
            .WriteAsync(context);
}
