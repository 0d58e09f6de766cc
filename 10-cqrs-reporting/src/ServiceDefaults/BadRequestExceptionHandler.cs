using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace ServiceDefaults;

/// <summary>
/// Turns the framework's <see cref="BadHttpRequestException"/> (malformed JSON, a value of the wrong
/// type, an unknown or repeated field, a missing body, a query value that does not parse) into a
/// ProblemDetails that names the field, instead of an empty 400.
/// </summary>
internal sealed partial class BadRequestExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException badRequest)
        {
            return false;
        }

        var problem = Describe(badRequest);
        context.Response.StatusCode = problem.Status ?? StatusCodes.Status400BadRequest;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = problem,
            Exception = exception,
        });
    }

    private static ProblemDetails Describe(BadHttpRequestException exception)
    {
        if (exception.StatusCode != StatusCodes.Status400BadRequest)
        {
            // 413, 415 and the like: the status says it all; AddServiceDefaults adds the detail.
            return new ProblemDetails { Status = exception.StatusCode };
        }

        var (field, message) = exception.InnerException switch
        {
            JsonException json => DescribeJson(json),
            _ => DescribeBinding(exception.Message),
        };
        return new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [message] })
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "One or more validation errors occurred.",
        };
    }

    private static (string Field, string Message) DescribeJson(JsonException json)
    {
        var field = FieldName(json.Path);
        if (json.InnerException?.GetType().Name == "JsonReaderException")
        {
            return ("body", $"The request body is not valid JSON (line {json.LineNumber + 1}, position {json.BytePositionInLine + 1}).");
        }

        var unknown = UnknownPropertyPattern().Match(json.Message);
        if (unknown.Success)
        {
            return (unknown.Groups["name"].Value, $"'{unknown.Groups["name"].Value}' is not a field of this request.");
        }

        if (json.Message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase))
        {
            return (field, $"'{field}' appears more than once.");
        }

        return field == "body"
            ? (field, "The request body must be a JSON object.")
            : (field, $"'{field}' has a value of the wrong type or format.");
    }

    private static (string Field, string Message) DescribeBinding(string message)
    {
        if (message.StartsWith("Implicit body inferred", StringComparison.Ordinal)
            || message.StartsWith("Required parameter", StringComparison.Ordinal) && message.Contains("body", StringComparison.OrdinalIgnoreCase))
        {
            return ("body", "A JSON request body is required.");
        }

        var binding = BindingFailurePattern().Match(message);
        if (binding.Success)
        {
            var name = binding.Groups["name"].Value;
            return (name, $"'{binding.Groups["value"].Value}' is not a valid value for '{name}'.");
        }

        return ("request", message);
    }

    private static string FieldName(string? path) =>
        string.IsNullOrEmpty(path) || path == "$" ? "body" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path;

    [GeneratedRegex("""The JSON property '(?<name>[^']*)' could not be mapped""")]
    private static partial Regex UnknownPropertyPattern();

    [GeneratedRegex("""Failed to bind parameter "(?<type>\S+) (?<name>\w+)" from "(?<value>.*)"\.""")]
    private static partial Regex BindingFailurePattern();
}
