namespace Users.Clients;

/// <summary>
/// Passes on which accounts instance answered: users' own answer carries it as
/// <c>X-Accounts-Instance</c>, so curl shows the calls spreading over the instances.
/// </summary>
public sealed class AccountsInstanceHeader(IHttpContextAccessor accessor) : DelegatingHandler
{
    public const string HeaderName = "X-Accounts-Instance";

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (response.Headers.TryGetValues("X-Instance", out var instance) && accessor.HttpContext is { Response.HasStarted: false } context)
        {
            context.Response.Headers[HeaderName] = instance.FirstOrDefault();
        }

        return response;
    }
}
