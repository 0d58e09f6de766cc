using Prometheus;

namespace Accounts;

/// <summary>
/// The accounts service's business counters, on <c>/metrics</c> beside .NET's own. Counted when the
/// money has moved (or was refused), never per attempt; Prometheus computes the rates.
/// </summary>
public static class AccountsMetrics
{
    public static readonly Counter Deposits = Metrics.CreateCounter(
        "accounts_deposits_total", "Deposits made.");

    public static readonly Counter Withdrawals = Metrics.CreateCounter(
        "accounts_withdrawals_total", "Withdrawals made.");

    public static readonly Counter OverdraftsRejected = Metrics.CreateCounter(
        "accounts_overdrafts_rejected_total", "Withdrawals refused because the account holds less than the amount (409 Insufficient funds).");

    /// <summary>
    /// Creates the counters, so /metrics shows each at 0 from the start: a series that appeared only
    /// with its first increment would hide that increment from rate() and increase().
    /// </summary>
    public static void Publish() => _ = (Deposits, Withdrawals, OverdraftsRejected);
}
