using System.Net;
using IntegrationTests.Infrastructure;

namespace IntegrationTests;

/// <summary>Each service keeps its data in its own SQLite file, so a restart loses nothing.</summary>
public sealed class PersistenceTests
{
    [Fact]
    public async Task Users_SurviveARestartOfTheService()
    {
        using var data = new TempDirectory();
        var configuration = new Dictionary<string, string> { ["Database__Path"] = data.File("users.db") };

        int id;
        await using (var users = await ServiceProcess.StartAsync("Users", configuration))
        {
            using var created = await users.Client.PostAsync("/users", Json.Body("""{"name":"Ada Lovelace","email":"ada@example.com"}"""));
            id = (await Json.ReadAsync(created, HttpStatusCode.Created)).GetProperty("id").GetInt32();
            await users.StopAsync();
        }

        await using var restarted = await ServiceProcess.StartAsync("Users", configuration);
        using var response = await restarted.Client.GetAsync("/users");
        var user = Assert.Single((await Json.ReadAsync(response, HttpStatusCode.OK)).EnumerateArray());
        Assert.Equal(id, user.GetProperty("id").GetInt32());
        Assert.Equal("Ada Lovelace", user.GetProperty("name").GetString());
        Assert.True(File.Exists(data.File("users.db")), "the database file is where Database__Path says");
    }

    [Fact]
    public async Task Balances_SurviveARestartOfTheService()
    {
        using var data = new TempDirectory();
        var configuration = new Dictionary<string, string> { ["Database__Path"] = data.File("nested/folder/accounts.db") };

        int id;
        await using (var accounts = await ServiceProcess.StartAsync("Accounts", configuration))
        {
            using var opened = await accounts.Client.PostAsync("/accounts", Json.Body("""{"userId":1,"initialBalance":100}"""));
            id = (await Json.ReadAsync(opened, HttpStatusCode.Created)).GetProperty("id").GetInt32();
            using var withdrawn = await accounts.Client.PostAsync($"/accounts/{id}/withdraw", Json.Body("""{"amount":40}"""));
            Assert.Equal(HttpStatusCode.OK, withdrawn.StatusCode);
            await accounts.StopAsync();
        }

        await using var restarted = await ServiceProcess.StartAsync("Accounts", configuration);
        using var response = await restarted.Client.GetAsync($"/accounts/{id}");
        Assert.Equal(60.00m, (await Json.ReadAsync(response, HttpStatusCode.OK)).GetProperty("balance").GetDecimal());
        await restarted.WaitForLogAsync($"Database ready at {data.File("nested/folder/accounts.db")}", TimeSpan.FromSeconds(5));
    }
}
