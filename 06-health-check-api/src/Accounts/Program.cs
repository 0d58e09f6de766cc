using Accounts;
using Accounts.Apis;
using Accounts.Data;
using ServiceDefaults;
using Storage;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.EnsureDatabaseCreated<AccountsDb>();
app.UseServiceDefaults();
app.MapAccountsApi();
app.MapDatabaseSwitch();

app.Run();
