using System.Net;

namespace IntegrationTests;

/// <summary>Each service keeps its data in its own SQLite file, so a restart loses nothing.</summary>
[Lesson("01-starter")]
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

    [Theory]
    [InlineData("Users", "", "Database:Path must name the SQLite file.")]
    [InlineData("Accounts", "{folder}", "Database:Path names a folder; it must name the SQLite file itself (a path that ends in a file name, such as data.db).")]
    [InlineData("Users", "{file}/users.db", "The SQLite file {file}/users.db (Database:Path) could not be opened or created.")]
    public async Task Service_RefusesToStart_WhenItsDatabasePathIsNotAFileItCanCreate(string project, string path, string message)
    {
        // {folder} is a folder that exists; {file} a file that exists, so that nothing can be created below it.
        using var data = new TempDirectory();
        var file = data.File("not-a-folder");
        await File.WriteAllTextAsync(file, "");
        string Fill(string text) => text.Replace("{folder}", data.Path).Replace("{file}", file);

        var reported = await ServiceProcess.AssertRefusesToStartAsync(project, new Dictionary<string, string> { ["Database__Path"] = Fill(path) });

        Assert.Contains(Fill(message), reported);
    }
}
