// YARP and nothing else: no authentication, no correlation id, no ProblemDetails, no logging.
// The same route and transform as the step 03 gateway's accounts-route, so that the benchmark can
// tell what the proxy costs from what the gateway's own features cost.
using Yarp.ReverseProxy.Configuration;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.ClearProviders();

var destination = builder.Configuration["Destination"] ?? "http://127.0.0.1:18002/";
builder.Services.AddReverseProxy().LoadFromMemory(
    [
        new RouteConfig
        {
            RouteId = "accounts-route",
            ClusterId = "accounts",
            Match = new RouteMatch { Path = "/api/accounts/{**rest}" },
            Transforms = [new Dictionary<string, string> { ["PathRemovePrefix"] = "/api" }],
        },
    ],
    [
        new ClusterConfig
        {
            ClusterId = "accounts",
            Destinations = new Dictionary<string, DestinationConfig> { ["primary"] = new() { Address = destination } },
        },
    ]);

var app = builder.Build();
app.MapReverseProxy();
app.Run();
