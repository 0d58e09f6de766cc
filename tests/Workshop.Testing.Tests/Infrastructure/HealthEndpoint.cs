using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Workshop.Testing.Tests.Infrastructure;

/// <summary>
/// A tiny health endpoint on loopback for the stand-in's HTTP checks to probe: it answers the status
/// and body it is told (changeable at any time), or never answers. It keeps the User-Agent of each probe.
/// </summary>
internal sealed class HealthEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stop = new();

    private HealthEndpoint(WebApplication app) => _app = app;

    /// <summary>The status to answer; 0 to never answer.</summary>
    public int Status { get; set; } = 200;

    public string Body { get; set; } = "Healthy";

    public ConcurrentQueue<string> UserAgents { get; } = new();

    public string Url { get; private set; } = "";

    public static async Task<HealthEndpoint> StartAsync(int status = 200, string body = "Healthy")
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var endpoint = new HealthEndpoint(builder.Build()) { Status = status, Body = body };
        endpoint._app.Run(endpoint.AnswerAsync);
        await endpoint._app.StartAsync();
        var address = endpoint._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        endpoint.Url = new Uri(new Uri(address), "/health").ToString();
        return endpoint;
    }

    private async Task AnswerAsync(HttpContext context)
    {
        UserAgents.Enqueue(context.Request.Headers.UserAgent.ToString());
        var status = Status;
        if (status == 0)
        {
            using var hang = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, context.RequestAborted);
            try
            {
                await Task.Delay(Timeout.Infinite, hang.Token);
            }
            catch (OperationCanceledException)
            {
                context.Abort();
            }

            return;
        }

        context.Response.StatusCode = status;
        if (Body.Length > 0)
        {
            context.Response.ContentType = "text/plain";
            await context.Response.WriteAsync(Body);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _stop.Dispose();
    }
}
