using Accounts;
using Accounts.Apis;
using Accounts.Data;
using ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.EnsureDatabaseCreated<AccountsDb>();
app.UseServiceDefaults();
app.MapAccountsApi();

app.Run();
