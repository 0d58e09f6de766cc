using MediatR;
using Microsoft.AspNetCore.Http.HttpResults;
using Reporting.Features.Reports;

namespace Reporting.Apis;

public static class ReportsApi
{
    public static RouteGroupBuilder MapReportsApi(this IEndpointRouteBuilder app)
    {
        // Queries only: the reports change by the events alone, never by a request. Each endpoint
        // sends its query to its handler (Features/Reports/) and names the statuses it answers.
        var api = app.MapGroup("/reports").WithTags("Reports");
        ReportingMetrics.Publish();

        api.MapGet("/users", RankUsers).WithName("RankUsers")
            .WithSummary("Users ranked by their total balance, richest first, a page at a time (?page=1&pageSize=10)")
            .ProducesValidationProblem();
        api.MapGet("/users/{id}", GetUserReport).WithName("GetUserReport")
            .WithSummary("One user's report: name, status, accounts, total balance, movements, last update")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/summary", GetSummary).WithName("GetReportSummary")
            .WithSummary("How many users, accounts and events the reports hold, and when the newest event happened");

        return api;
    }

    public static async Task<Ok<UserRanking>> RankUsers(IMediator mediator, CancellationToken ct, int page = 1, int pageSize = 10) =>
        TypedResults.Ok(await mediator.Send(new RankUsers(page, pageSize), ct));

    public static async Task<Ok<UserReportDto>> GetUserReport(int id, IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(await mediator.Send(new GetUserReport(id), ct));

    public static async Task<Ok<ReportSummary>> GetSummary(IMediator mediator, CancellationToken ct) =>
        TypedResults.Ok(await mediator.Send(new GetSummary(), ct));
}
