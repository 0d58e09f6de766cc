using System.Security.Claims;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Options;

namespace Gateway.Authentication;

/// <summary>
/// The API keys the gateway accepts. Bound from the "ApiKey" section:
/// <code>"ApiKey": { "HeaderName": "X-Api-Key", "Keys": [ "workshop-dev-key" ] }</code>
/// Keys come from configuration (appsettings.Development.json, or ApiKey__Keys__0 in compose), never code.
/// </summary>
public sealed class ApiKeyOptions : AuthenticationSchemeOptions
{
    public const string SectionName = "ApiKey";
    public const string Scheme = "ApiKey";

    public string HeaderName { get; set; } = "X-Api-Key";

    public string[] Keys { get; set; } = [];
}

public static class ApiKeyAuthentication
{
    public static IHostApplicationBuilder AddApiKeyAuthentication(this IHostApplicationBuilder builder)
    {
        builder.Services.AddAuthentication(ApiKeyOptions.Scheme)
            .AddScheme<ApiKeyOptions, ApiKeyHandler>(ApiKeyOptions.Scheme, _ => { });

        // A gateway with no key configured would lock everyone out: refuse to start instead.
        builder.Services.AddOptions<ApiKeyOptions>(ApiKeyOptions.Scheme)
            .Bind(builder.Configuration.GetSection(ApiKeyOptions.SectionName))
            .Validate(o => o.Keys.Any(k => !string.IsNullOrWhiteSpace(k)), "ApiKey:Keys must hold at least one key (ApiKey__Keys__0=...).")
            .Validate(o => !string.IsNullOrWhiteSpace(o.HeaderName), "ApiKey:HeaderName must name a header.")
            .ValidateOnStart();

        // The gateway's OpenAPI document says which header carries the key, and where it is needed.
        builder.Services.ConfigureAll<OpenApiOptions>(openApi => openApi
            .AddDocumentTransformer<ApiKeyOpenApi>()
            .AddOperationTransformer<ApiKeyOpenApi>());
        return builder;
    }
}

/// <summary>Authenticates a request that carries one of the configured keys; answers 401 ProblemDetails otherwise.</summary>
public sealed class ApiKeyHandler(
    IOptionsMonitor<ApiKeyOptions> options, ILoggerFactory logger, UrlEncoder encoder, IProblemDetailsService problemDetails)
    : AuthenticationHandler<ApiKeyOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = Request.Headers[Options.HeaderName].ToString();
        if (presented.Length == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!Options.Keys.Any(key => KeysMatch(key, presented)))
        {
            return Task.FromResult(AuthenticateResult.Fail($"The key in {Options.HeaderName} is not valid."));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "api-client")], Scheme.Name);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var sentAKey = Request.Headers.ContainsKey(Options.HeaderName);
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = $"ApiKey header=\"{Options.HeaderName}\"";
        await problemDetails.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails =
            {
                Status = StatusCodes.Status401Unauthorized,
                Title = "Unauthorized",
                Detail = sentAKey
                    ? $"The API key in the {Options.HeaderName} header is not valid."
                    : $"Send an API key in the {Options.HeaderName} header.",
            },
        });
    }

    // Constant-time comparison: how long a wrong guess takes says nothing about how close it was.
    private static bool KeysMatch(string expected, string presented) =>
        !string.IsNullOrEmpty(expected)
        && CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(expected.AsSpan()), MemoryMarshal.AsBytes(presented.AsSpan()));
}
