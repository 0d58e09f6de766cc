using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Gateway.Authentication;

/// <summary>
/// ASP.NET Core's authorization, with a shortcut for the one policy the gateway uses. Its routes
/// (<c>"AuthorizationPolicy": "default"</c>) and the overview (<c>RequireAuthorization()</c>) ask for the
/// default policy: an authenticated caller, nothing more. The framework's evaluator answers even that
/// through a handler context, a set of pending requirements and a handful of tasks, built anew for every
/// request (bench/README.md: about 1.4 KB per proxied request). For that policy this one looks at the
/// caller directly, as its one requirement (<see cref="DenyAnonymousAuthorizationRequirement"/>) does.
/// Any other policy (a role, a claim, a requirement of your own) goes to ASP.NET Core's evaluator, and so
/// does every policy once the app registers an authorization handler of its own, which could refuse
/// callers that the requirement alone would let through.
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
