using System.Net;
using System.Text.Json;

namespace IntegrationTests;

[Lesson("01-starter")]
public sealed class AccountsApiTests(AccountsFixture fixture) : IClassFixture<AccountsFixture>
{
    private readonly HttpClient _client = fixture.Client;

    [Fact]
    public async Task OpenAccount_StartsWithTheInitialBalance()
    {
        using var response = await _client.PostAsync("/accounts", Json.Body("""{"userId":7,"initialBalance":100.5}"""));

        var account = await Json.ReadAsync(response, HttpStatusCode.Created);
        Assert.Equal(7, account.GetProperty("userId").GetInt32());
        Assert.Equal(100.50m, account.GetProperty("balance").GetDecimal());
        Assert.Equal($"/accounts/{account.GetProperty("id").GetInt32()}", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task OpenAccount_WithoutInitialBalance_StartsAtZero()
    {
        using var response = await _client.PostAsync("/accounts", Json.Body("""{"userId":7}"""));
        Assert.Equal(0m, (await Json.ReadAsync(response, HttpStatusCode.Created)).GetProperty("balance").GetDecimal());
    }

    [Fact]
    public async Task DepositAndWithdraw_ChangeTheBalance()
    {
        var id = await OpenAsync(userId: 1, balance: 10m);

        using var deposit = await _client.PostAsync($"/accounts/{id}/deposit", Json.Body("""{"amount":25.25}"""));
        Assert.Equal(35.25m, (await Json.ReadAsync(deposit, HttpStatusCode.OK)).GetProperty("balance").GetDecimal());

        using var withdraw = await _client.PostAsync($"/accounts/{id}/withdraw", Json.Body("""{"amount":5.25}"""));
        Assert.Equal(30.00m, (await Json.ReadAsync(withdraw, HttpStatusCode.OK)).GetProperty("balance").GetDecimal());

        Assert.Equal(30.00m, await BalanceAsync(id));
    }

    [Fact]
    public async Task Withdraw_Returns409AndKeepsTheBalance_WhenFundsAreInsufficient()
    {
        var id = await OpenAsync(userId: 1, balance: 20m);

        using var response = await _client.PostAsync($"/accounts/{id}/withdraw", Json.Body("""{"amount":20.01}"""));

        var problem = await Problem.AssertAsync(response, HttpStatusCode.Conflict);
        Assert.Equal("Insufficient funds", problem.GetProperty("title").GetString());
        Assert.Equal(20.00m, await BalanceAsync(id));
    }

    [Fact]
    public async Task Withdraw_CanEmptyTheAccountExactly()
    {
        var id = await OpenAsync(userId: 1, balance: 20m);
        using var response = await _client.PostAsync($"/accounts/{id}/withdraw", Json.Body("""{"amount":20}"""));
        Assert.Equal(0m, (await Json.ReadAsync(response, HttpStatusCode.OK)).GetProperty("balance").GetDecimal());
    }

    [Fact]
    public async Task ConcurrentWithdrawals_NeverOverdrawTheAccount()
    {
        var id = await OpenAsync(userId: 1, balance: 10m);

        var statuses = await Task.WhenAll(Enumerable.Range(0, 40).Select(async _ =>
        {
            using var response = await _client.PostAsync($"/accounts/{id}/withdraw", Json.Body("""{"amount":1}"""));
            return response.StatusCode;
        }));

        Assert.Equal(10, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(30, statuses.Count(s => s == HttpStatusCode.Conflict));
        Assert.Equal(0m, await BalanceAsync(id));
    }

    [Fact]
    public async Task ConcurrentDeposits_AreAllCounted()
    {
        var id = await OpenAsync(userId: 1, balance: 0m);

        await Task.WhenAll(Enumerable.Range(0, 25).Select(async _ =>
        {
            using var response = await _client.PostAsync($"/accounts/{id}/deposit", Json.Body("""{"amount":2.5}"""));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }));

        Assert.Equal(62.50m, await BalanceAsync(id));
    }

    [Fact]
    public async Task Deposit_Returns409AndKeepsTheBalance_AtTheBalanceLimit()
    {
        var id = await OpenFullAccountAsync(userId: 1);

        using var full = await _client.PostAsync($"/accounts/{id}/deposit", Json.Body("""{"amount":0.01}"""));

        var problem = await Problem.AssertAsync(full, HttpStatusCode.Conflict);
        Assert.Equal("Balance limit reached", problem.GetProperty("title").GetString());
        Assert.Equal($"Account {id} holds 1000000000.00; its balance may not exceed 1000000000.00.", problem.GetProperty("detail").GetString());
        Assert.Equal(1_000_000_000.00m, await BalanceAsync(id));
    }

    [Fact]
    public async Task OpenApiDocument_ListsEveryAnswerOfTheAccountsEndpoints()
    {
        var id = await OpenAsync(userId: 3, balance: 10m);
        var full = await OpenFullAccountAsync(userId: 3);
        var contract = await OpenApiContract.ReadAsync(_client);

        (string Method, string Path, string Operation, string? Body, HttpStatusCode Status)[] calls =
        [
            ("GET", "/accounts", "/accounts", null, HttpStatusCode.OK),
            ("GET", "/accounts?userId=3", "/accounts", null, HttpStatusCode.OK),
            ("GET", "/accounts?userId=0", "/accounts", null, HttpStatusCode.BadRequest),
            ("POST", "/accounts", "/accounts", """{"userId":3,"initialBalance":5}""", HttpStatusCode.Created),
            ("POST", "/accounts", "/accounts", """{"userId":3,"initialBalance":-5}""", HttpStatusCode.BadRequest),
            ("GET", $"/accounts/{id}", "/accounts/{id}", null, HttpStatusCode.OK),
            ("GET", "/accounts/987654", "/accounts/{id}", null, HttpStatusCode.NotFound),
            ("GET", "/accounts/abc", "/accounts/{id}", null, HttpStatusCode.BadRequest),
            ("POST", $"/accounts/{id}/deposit", "/accounts/{id}/deposit", """{"amount":1}""", HttpStatusCode.OK),
            ("POST", $"/accounts/{id}/deposit", "/accounts/{id}/deposit", """{"amount":0}""", HttpStatusCode.BadRequest),
            ("POST", "/accounts/987654/deposit", "/accounts/{id}/deposit", """{"amount":1}""", HttpStatusCode.NotFound),
            ("POST", "/accounts/99999999999/deposit", "/accounts/{id}/deposit", """{"amount":1}""", HttpStatusCode.BadRequest),
            ("POST", $"/accounts/{full}/deposit", "/accounts/{id}/deposit", """{"amount":1}""", HttpStatusCode.Conflict),
            ("POST", $"/accounts/{id}/withdraw", "/accounts/{id}/withdraw", """{"amount":1}""", HttpStatusCode.OK),
            ("POST", $"/accounts/{id}/withdraw", "/accounts/{id}/withdraw", """{"amount":-1}""", HttpStatusCode.BadRequest),
            ("POST", "/accounts/987654/withdraw", "/accounts/{id}/withdraw", """{"amount":1}""", HttpStatusCode.NotFound),
            ("POST", $"/accounts/{id}/withdraw", "/accounts/{id}/withdraw", """{"amount":1000}""", HttpStatusCode.Conflict),
        ];
        await contract.AssertListsTheAnswersAsync(_client, calls);
    }

    [Fact]
    public async Task ListAccounts_FiltersByUser()
    {
        var userId = Random.Shared.Next(100_000, 1_000_000);
        var first = await OpenAsync(userId, 1m);
        var second = await OpenAsync(userId, 2m);
        await OpenAsync(userId + 1, 3m);

        using var response = await _client.GetAsync($"/accounts?userId={userId}");
        var accounts = (await Json.ReadAsync(response, HttpStatusCode.OK)).EnumerateArray().ToList();

        Assert.Equal([first, second], accounts.Select(a => a.GetProperty("id").GetInt32()));
        Assert.All(accounts, a => Assert.Equal(userId, a.GetProperty("userId").GetInt32()));
    }

    [Theory]
    [InlineData("/accounts?userId=abc", "userId")]
    [InlineData("/accounts?userId=0", "userId")]
    [InlineData("/accounts?userId=-3", "userId")]
    public async Task ListAccounts_Returns400NamingUserId_WhenItIsNotAPositiveNumber(string path, string field)
    {
        using var response = await _client.GetAsync(path);
        await Problem.AssertFieldAsync(response, field);
    }

    [Fact]
    public async Task GetAccount_Returns404ProblemDetails_WhenIdIsUnknown()
    {
        using var response = await _client.GetAsync("/accounts/999999");
        await Problem.AssertAsync(response, HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("GET", "/accounts/abc", "abc")]
    [InlineData("GET", "/accounts/1.5", "1.5")]
    [InlineData("POST", "/accounts/99999999999/deposit", "99999999999")]
    [InlineData("POST", "/accounts/-1x/deposit", "-1x")]
    [InlineData("POST", "/accounts/2147483648/withdraw", "2147483648")]
    public async Task AnyRoute_Returns400NamingTheId_WhenItIsNotAWholeNumberThatFits(string method, string path, string id)
    {
        // An id beyond int's range, or not a number at all, is the caller's mistake: a 400 naming it,
        // never routing's 404 "no endpoint", which would send the caller looking for a wrong path.
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "POST" ? Json.Body("""{"amount":1}""") : null };
        using var response = await _client.SendAsync(request);
        var problem = await Problem.AssertAsync(response, HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("id", out var messages), $"errors should name 'id': {errors}");
        Assert.Equal($"'{id}' is not a valid value for 'id'.", messages[0].GetString());
    }

    [Fact]
    public async Task Head_IsRefusedWith405_WhereThereIsNoGet()
    {
        // HEAD is answered as GET would be (see UsersApiTests); deposit takes POST only, so HEAD is a
        // 405 that names what it takes, as a GET there is.
        using var head = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/accounts/1/deposit"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, head.StatusCode);
        Assert.Equal(["POST"], head.Content.Headers.Allow);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("deposit")]
    [InlineData("withdraw")]
    public async Task Transfer_Returns404_WhenAccountIsUnknown(string operation)
    {
        using var response = await _client.PostAsync($"/accounts/999999/{operation}", Json.Body("""{"amount":1}"""));
        await Problem.AssertAsync(response, HttpStatusCode.NotFound);
    }

    public static TheoryData<string, string> BadOpenBodies => new()
    {
        { """{"initialBalance":10}""", "userId" },
        { """{"userId":0}""", "userId" },
        { """{"userId":"seven"}""", "userId" },
        { """{"userId":"7"}""", "userId" },
        { """{"userId":1,"initialBalance":-1}""", "initialBalance" },
        { """{"userId":1,"initialBalance":"lots"}""", "initialBalance" },
        { """{"userId":1,"initialBalance":"10"}""", "initialBalance" },
        { """{"userId":1,"initialBalance":1.001}""", "initialBalance" },
        { """{"userId":1,"initialBalance":1000000000}""", "initialBalance" },
        { """{"userId":1,"balance":5}""", "balance" },
        { """{"userId":1""", "body" },
    };

    [Theory]
    [MemberData(nameof(BadOpenBodies))]
    public async Task OpenAccount_Returns400NamingTheField_WhenInputIsBad(string body, string field)
    {
        using var response = await _client.PostAsync("/accounts", Json.Body(body));
        await Problem.AssertFieldAsync(response, field);
    }

    public static TheoryData<string, string> BadAmounts => new()
    {
        { "{}", "amount" },
        { """{"amount":0}""", "amount" },
        { """{"amount":-5}""", "amount" },
        { """{"amount":"abc"}""", "amount" },
        { """{"amount":"10"}""", "amount" },
        { """{"amount":1.005}""", "amount" },
        { """{"amount":1000000.01}""", "amount" },
        { """{"amount":1e400}""", "amount" },
        { """{"amount":1,"amount":2}""", "amount" },
        { "not json", "body" },
    };

    [Theory]
    [MemberData(nameof(BadAmounts))]
    public async Task Withdraw_Returns400AndKeepsTheBalance_WhenAmountIsBad(string body, string field)
    {
        var id = await OpenAsync(userId: 1, balance: 50m);

        using var response = await _client.PostAsync($"/accounts/{id}/withdraw", Json.Body(body));
        await Problem.AssertFieldAsync(response, field);
        Assert.Equal(50.00m, await BalanceAsync(id));
    }

    [Theory]
    [MemberData(nameof(BadAmounts))]
    public async Task Deposit_Returns400AndKeepsTheBalance_WhenAmountIsBad(string body, string field)
    {
        var id = await OpenAsync(userId: 1, balance: 50m);

        using var response = await _client.PostAsync($"/accounts/{id}/deposit", Json.Body(body));
        await Problem.AssertFieldAsync(response, field);
        Assert.Equal(50.00m, await BalanceAsync(id));
    }

    private async Task<int> OpenAsync(int userId, decimal balance)
    {
        using var response = await _client.PostAsync("/accounts", Json.Body(JsonSerializer.Serialize(new { userId, initialBalance = balance })));
        return (await Json.ReadAsync(response, HttpStatusCode.Created)).GetProperty("id").GetInt32();
    }

    /// <summary>An account at the balance limit, one billion: a million to open it, then 999 deposits of the most one request may move.</summary>
    private async Task<int> OpenFullAccountAsync(int userId)
    {
        var id = await OpenAsync(userId, balance: 1_000_000m);
        using var slots = new SemaphoreSlim(8);
        await Task.WhenAll(Enumerable.Range(0, 999).Select(async _ =>
        {
            await slots.WaitAsync();
            try
            {
                using var response = await _client.PostAsync($"/accounts/{id}/deposit", Json.Body("""{"amount":1000000}"""));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
            finally
            {
                slots.Release();
            }
        }));
        Assert.Equal(1_000_000_000.00m, await BalanceAsync(id));
        return id;
    }

    private async Task<decimal> BalanceAsync(int id)
    {
        using var response = await _client.GetAsync($"/accounts/{id}");
        return (await Json.ReadAsync(response, HttpStatusCode.OK)).GetProperty("balance").GetDecimal();
    }
}
