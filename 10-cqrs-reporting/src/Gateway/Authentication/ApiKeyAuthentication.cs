using System.Collections.ObjectModel;
using System.Runtime.InteropServices;
using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Gateway.Authentication;

/// <summary>
/// The API keys the gateway accepts. Bound from the "ApiKey" section:
/// <code>"ApiKey": { "HeaderName": "X-Api-Key", "Keys": [ "workshop-dev-key" ] }</code>
/// Keys come from configuration (appsettings.Development.json, or ApiKey__Keys__0 in compose), never code.
/// </summary>
public sealed class ApiKeyOptions
{
    public const string SectionName = "ApiKey";

    /// <summary>The scheme's name: in the WWW-Authenticate header, the OpenAPI document, and the caller's identity.</summary>
    public const string Scheme = "ApiKey";

    public string HeaderName { get; set; } = "X-Api-Key";

    public string[] Keys { get; set; } = [];
}

/// <summary>
/// Authentication at the edge, in two parts around ASP.NET Core's authorization middleware, which decides
/// per endpoint whether a caller is needed (a route's <c>"AuthorizationPolicy"</c>, <c>RequireAuthorization()</c>):
/// <see cref="ApiKeyAuthenticationMiddleware"/>, before it, says who the caller is, and
/// <see cref="ApiKeyChallenge"/> answers for it when it refuses a request.
/// </summary>
/// <remarks>
/// ASP.NET Core's own authentication (<c>AddAuthentication().AddScheme(...)</c>) would do the same through
/// machinery built for cookies, tokens, sign-in and several schemes at once: for every request a handler
/// provider and an authentication service in the request's service scope, a handler, two tickets, a claims
/// transformation and their tasks, about 2.7 KB of the gateway's allocations per proxied request
/// (bench/README.md). A scheme that only compares a header with the
/// configured keys needs none of it, so the gateway does without.
/// </remarks>
public static class ApiKeyAuthentication
{
    public static IHostApplicationBuilder AddApiKeyAuthentication(this IHostApplicationBuilder builder)
    {
        // A gateway with no key configured would lock everyone out: refuse to start instead.
        builder.Services.AddOptions<ApiKeyOptions>()
            .Bind(builder.Configuration.GetSection(ApiKeyOptions.SectionName))
            .Validate(o => o.Keys.Any(k => !string.IsNullOrWhiteSpace(k)), "ApiKey:Keys must hold at least one key (ApiKey__Keys__0=...).")
            .Validate(o => !string.IsNullOrWhiteSpace(o.HeaderName), "ApiKey:HeaderName must name a header.")
            .ValidateOnStart();

        // The authorization middleware's answer to a refused request, in place of the framework's, which
        // would ask ASP.NET Core's authentication (not registered) for the challenge.
        builder.Services.Replace(ServiceDescriptor.Singleton<IAuthorizationMiddlewareResultHandler, ApiKeyChallenge>());

        // The gateway's OpenAPI document says which header carries the key, and where it is needed.
        builder.Services.ConfigureAll<OpenApiOptions>(openApi => openApi
            .AddDocumentTransformer<ApiKeyOpenApi>()
            .AddOperationTransformer<ApiKeyOpenApi>());
        return builder;
    }

    /// <summary>Before <c>UseAuthorization()</c>: a request with a valid key gets the API key's caller as its user.</summary>
    public static IApplicationBuilder UseApiKeyAuthentication(this IApplicationBuilder app) =>
        app.UseMiddleware<ApiKeyAuthenticationMiddleware>();
}

/// <summary>
/// A request that carries one of the configured keys is made <see cref="Caller"/>'s; any other goes on
/// anonymous, and the authorization middleware refuses it where its endpoint needs a caller.
/// </summary>
public sealed class ApiKeyAuthenticationMiddleware(RequestDelegate next, IOptionsMonitor<ApiKeyOptions> options)
{
    /// <summary>
    /// Who a request with a valid key is: the same for every such request, so one principal serves them all.
    /// Nothing in the gateway changes it (no claims transformation runs, YARP forwards no user); code that
    /// wants to add to a request's user must work on a copy (<see cref="ClaimsPrincipal.Clone"/>), as
    /// ASP.NET Core asks of every claims transformation anyway.
    /// </summary>
    public static readonly ClaimsPrincipal Caller = new(new ClaimsIdentity([new Claim(ClaimTypes.Name, "api-client")], ApiKeyOptions.Scheme));

    /// <summary>
    /// The authentication result of <see cref="Caller"/>, for the authorization middleware: the same for
    /// every request. Its properties are read-only, so code that writes to them (none in the gateway)
    /// fails at once instead of reaching every other request.
    /// </summary>
    public static readonly Task<AuthenticateResult> CallerAuthenticated = Task.FromResult(AuthenticateResult.Success(
        new AuthenticationTicket(
            Caller,
            new AuthenticationProperties(ReadOnlyDictionary<string, string?>.Empty, ReadOnlyDictionary<string, object?>.Empty),
            ApiKeyOptions.Scheme)));

    public Task InvokeAsync(HttpContext context)
    {
        var apiKey = options.CurrentValue;
        var presented = context.Request.Headers[apiKey.HeaderName].ToString();
        if (presented.Length > 0 && IsOneOf(apiKey.Keys, presented))
        {
            context.User = Caller;
        }

        return next(context);
    }

    // A loop, not keys.Any(key => ...): that lambda would capture the presented key, a closure and a
    // delegate for every request.
    private static bool IsOneOf(string[] keys, string presented)
    {
        foreach (var key in keys)
        {
            if (KeysMatch(key, presented))
            {
                return true;
            }
        }

        return false;
    }

    // Constant-time comparison: how long a wrong guess takes says nothing about how close it was.
    private static bool KeysMatch(string expected, string presented) =>
        !string.IsNullOrEmpty(expected)
        && CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(expected.AsSpan()), MemoryMarshal.AsBytes(presented.AsSpan()));
}

/// <summary>
/// How the gateway refuses a request that its endpoint's policy does not allow: 401 ProblemDetails and a
/// WWW-Authenticate header naming the key's header when no valid key came with it; 403 (which the
/// status-code pages turn into ProblemDetails) when a policy refuses the key's caller.
/// </summary>
public sealed class ApiKeyChallenge(IOptionsMonitor<ApiKeyOptions> options, IProblemDetailsService problemDetails)
    : IAuthorizationMiddlewareResultHandler
{
    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded)
        {
            return next(context);
        }

        if (authorizeResult.Forbidden)
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return Task.CompletedTask;
        }

        return ChallengeAsync(context);
    }

    private async Task ChallengeAsync(HttpContext context)
    {
        var headerName = options.CurrentValue.HeaderName;
        var sentAKey = context.Request.Headers.ContainsKey(headerName);
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = $"{ApiKeyOptions.Scheme} header=\"{headerName}\"";
        await problemDetails.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails =
            {
                Status = StatusCodes.Status401Unauthorized,
                Title = "Unauthorized",
                Detail = sentAKey
                    ? $"The API key in the {headerName} header is not valid."
                    : $"Send an API key in the {headerName} header.",
            },
        });
    }
}
