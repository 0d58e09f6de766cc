using Gateway;
using Gateway.Apis;
using Gateway.Authentication;
using Gateway.Downstream;
using ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddGatewayServices();

var app = builder.Build();

app.UseServiceDefaults();
app.UseApiKeyAuthentication();
app.UseAuthorization();
app.UseProxyErrorLog();

app.MapOverviewApi();
app.MapReverseProxy();

app.Run();
