using Microsoft.AspNetCore.Http;

namespace ServiceDefaults;

/// <summary>
/// HEAD is GET without the body (RFC 9110, 9.3.2): a HEAD request is routed as a GET, so every
/// readable resource answers it with the status and headers a GET gets, and Kestrel, which still sees
/// the HEAD, sends no body. The method is HEAD again before anything is logged or written about the
/// request, so a 405 names HEAD. Minimal APIs map GET only; without this every HEAD was a 405.
/// </summary>
internal sealed class HeadAsGet(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await next(context);
            return;
        }

        context.Request.Method = HttpMethods.Get;
        try
        {
            await next(context);
        }
        finally
        {
            context.Request.Method = HttpMethods.Head;
        }
    }
}
