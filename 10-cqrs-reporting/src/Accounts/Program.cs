using Accounts;
using Accounts.Apis;
using Accounts.Data;
using Accounts.Faults;
using ServiceDefaults;
using Storage;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();
builder.Services.AddFaultSwitch();

var app = builder.Build();

app.EnsureDatabaseCreated<AccountsDb>();
app.UseServiceDefaults();
app.UseFaultSwitch();
app.MapAccountsApi();
app.MapDatabaseSwitch();
app.MapFaultSwitch();

app.Run();
