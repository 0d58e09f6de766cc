using Reporting.Data;

namespace Reporting.Features.Reports;

/// <summary>
/// A user's report. Status is "active" once the user's own events have arrived, "pending" while only
/// their accounts' have (events of two services arrive in no fixed order).
/// </summary>
public sealed record UserReportDto(
    int UserId,
    string? Name,
    string? Email,
    string Status,
    int AccountCount,
    decimal TotalBalance,
    int Movements,
    DateTimeOffset? LastEventAt,
    DateTimeOffset UpdatedAt)
{
    public static UserReportDto From(UserReport report) => new(
        report.UserId, report.Name, report.Email, report.Name is null ? "pending" : "active",
        report.AccountCount, report.TotalBalanceCents * 0.01m, report.Movements, report.LastEventAt, report.UpdatedAt);
}
