using System.Net;

namespace IntegrationTests;

/// <summary>
/// The refusals of reporting's queries: they change nothing, so they share one started step (each
/// step starts a broker and four services).
/// </summary>
[Lesson("10-cqrs-reporting")]
public sealed class CqrsQueryTests(CqrsFixture fixture) : IClassFixture<CqrsFixture>
{
    [Theory]
    [InlineData("/api/reports/users?page=0", "page")]
    [InlineData("/api/reports/users?pageSize=0", "pageSize")]
    [InlineData("/api/reports/users?pageSize=101", "pageSize")]
    [InlineData("/api/reports/users?page=first", "page")]
    [InlineData("/api/reports/users/abc", "id")]
    public async Task BadQueries_Get400_NamingTheParameter(string path, string field)
    {
        var step = fixture.Step;

        using var response = await step.Client.GetAsync(path);

        await Problem.AssertFieldAsync(response, field);
    }

    [Fact]
    public async Task AReportNotYetThere_Is404_SayingWhy()
    {
        var step = fixture.Step;

        using var response = await step.Client.GetAsync("/api/reports/users/4711");

        await Problem.AssertDetailAsync(response, HttpStatusCode.NotFound,
            "There is no report of user 4711 (yet): a user created a moment ago appears once its event has been applied.");
    }
}

/// <summary>The step the <see cref="CqrsQueryTests"/> share.</summary>
public sealed class CqrsFixture : IAsyncLifetime
{
    public CqrsStep Step { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Step = await CqrsStep.StartAsync();

    public ValueTask DisposeAsync() => Step.DisposeAsync();
}
