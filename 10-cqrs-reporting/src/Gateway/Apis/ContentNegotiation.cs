using System.Text;
using System.Xml.Linq;
using Microsoft.Net.Http.Headers;

namespace Gateway.Apis;

public enum ResponseFormat
{
    Json,
    Xml,
}

/// <summary>Picks JSON or XML from the caller's Accept header, honouring q-values; JSON when it does not say.</summary>
public static class ContentNegotiation
{
    public static ResponseFormat? Choose(HttpRequest request)
    {
        var accepted = request.GetTypedHeaders().Accept;
        if (accepted.Count == 0)
        {
            return ResponseFormat.Json;
        }

        // OrderByDescending is stable: of equal preference, the first listed wins.
        foreach (var media in accepted.Where(m => m.Quality is not 0).OrderByDescending(m => m.Quality ?? 1))
        {
            if (media.MatchesMediaType("application/json"))
            {
                return ResponseFormat.Json;
            }

            if (media.MatchesMediaType("application/xml") || media.MatchesMediaType("text/xml"))
            {
                return ResponseFormat.Xml;
            }
        }

        return null;
    }

    public static IResult NotAcceptable(HttpRequest request) => TypedResults.Problem(
        statusCode: StatusCodes.Status406NotAcceptable,
        title: "Not acceptable",
        detail: $"This endpoint answers application/json or application/xml, not '{request.Headers.Accept}'.");

    public static IResult Xml(XDocument document) =>
        TypedResults.Text(document.Declaration + "\n" + document, "application/xml", Encoding.UTF8);

    private static bool MatchesMediaType(this MediaTypeHeaderValue accepted, string mediaType) =>
        new MediaTypeHeaderValue(mediaType).IsSubsetOf(accepted);
}
