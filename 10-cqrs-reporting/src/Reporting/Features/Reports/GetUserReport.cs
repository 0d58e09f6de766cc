using MediatR;
using Microsoft.EntityFrameworkCore;
using Reporting.Data;
using ServiceDefaults.Cqrs;

namespace Reporting.Features.Reports;

/// <summary>One user's report, as the events applied so far make it.</summary>
public sealed record GetUserReport(int UserId) : IRequest<UserReportDto>;

public sealed class GetUserReportHandler(ReportingDb db) : IRequestHandler<GetUserReport, UserReportDto>
{
    public async Task<UserReportDto> Handle(GetUserReport request, CancellationToken cancellationToken)
    {
        var report = await db.UserReports.AsNoTracking().FirstOrDefaultAsync(r => r.UserId == request.UserId, cancellationToken)
            ?? throw RequestProblemException.NotFound(
                "Report not found",
                $"There is no report of user {request.UserId} (yet): a user created a moment ago appears once its event has been applied.");
        return UserReportDto.From(report);
    }
}
