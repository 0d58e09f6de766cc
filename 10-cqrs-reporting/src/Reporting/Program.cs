using Reporting;
using Reporting.Apis;
using Reporting.Data;
using ServiceDefaults;
using Storage;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.EnsureDatabaseCreated<ReportingDb>();
app.UseServiceDefaults();
app.MapReportsApi();
app.MapDatabaseSwitch();

app.Run();
