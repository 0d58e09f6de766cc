using ServiceDefaults;
using Storage;
using Users;
using Users.Apis;
using Users.Data;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.EnsureDatabaseCreated<UsersDb>();
app.UseServiceDefaults();
app.MapUsersApi();
app.MapDatabaseSwitch();

app.Run();
