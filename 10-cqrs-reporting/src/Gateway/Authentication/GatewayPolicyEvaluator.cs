using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Gateway.Authentication;

/// <summary>
/// ASP.NET Core's authorization, with a shortcut for the one policy the gateway uses. Its routes
/// (<c>"AuthorizationPolicy": "default"</c>) and the overview (<c>RequireAuthorization()</c>) ask for the
/// default policy: an authenticated caller, nothing more. The framework's evaluator, made anew for every
/// request, answers even that through a handler context, a set of pending requirements and a handful of
/// tasks: about 1 KB per proxied request (bench/README.md). For that policy this one, made once, looks at
/// the caller directly, as the policy's one requirement (<see cref="DenyAnonymousAuthorizationRequirement"/>)
/// does. Any other policy (a role, a claim, a requirement of your own) goes to ASP.NET Core's evaluator,
/// and so does every policy once the app registers an authorization handler of its own, which could
/// refuse callers that the requirement alone lets through.
/// </summary>
internal sealed class GatewayPolicyEvaluator : PolicyEvaluator
{
    private static readonly Task<PolicyAuthorizationResult> Allowed = Task.FromResult(PolicyAuthorizationResult.Success());
    private static readonly Task<PolicyAuthorizationResult> Challenged = Task.FromResult(PolicyAuthorizationResult.Challenge());

    private readonly bool _onlyTheFrameworksHandlers;

    public GatewayPolicyEvaluator(IAuthorizationService authorization, IEnumerable<IAuthorizationHandler> handlers)
        : base(authorization)
    {
        _onlyTheFrameworksHandlers = handlers.All(handler => handler is PassThroughAuthorizationHandler);
    }

    /// <summary>
    /// For a policy that names no scheme, the framework's evaluator wraps the caller in a new ticket and
    /// result for every request; the API key's caller has the same one every time.
    /// </summary>
    public override Task<AuthenticateResult> AuthenticateAsync(AuthorizationPolicy policy, HttpContext context) =>
        policy.AuthenticationSchemes.Count == 0 && ReferenceEquals(context.User, ApiKeyAuthenticationMiddleware.Caller)
            ? ApiKeyAuthenticationMiddleware.CallerAuthenticated
            : base.AuthenticateAsync(policy, context);

    public override Task<PolicyAuthorizationResult> AuthorizeAsync(
        AuthorizationPolicy policy, AuthenticateResult authenticationResult, HttpContext context, object? resource)
    {
        if (_onlyTheFrameworksHandlers && policy.Requirements is [DenyAnonymousAuthorizationRequirement])
        {
            // The requirement's own test: any authenticated identity; without one, a challenge (401).
            return context.User.Identities.Any(identity => identity.IsAuthenticated) ? Allowed : Challenged;
        }

        return base.AuthorizeAsync(policy, authenticationResult, context, resource);
    }
}
