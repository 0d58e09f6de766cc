namespace Accounts.Apis;

/// <summary>Amounts travel as decimals with at most two places and are stored as cents.</summary>
public static class Money
{
    /// <summary>Largest amount one request may move.</summary>
    public const decimal MaxAmount = 1_000_000m;

    /// <summary>Largest balance an account may hold (one billion).</summary>
    public const long MaxBalanceCents = 100_000_000_000;

    public static decimal FromCents(long cents) => cents * 0.01m;

    /// <summary>Checks an amount named <paramref name="field"/>; adds an error and returns false when it is not usable.</summary>
    public static bool TryToCents(decimal? amount, string field, bool allowZero, Dictionary<string, string[]> errors, out long cents)
    {
        cents = 0;
        if (amount is null)
        {
            errors[field] = [$"'{field}' is required."];
            return false;
        }

        var value = amount.Value;
        if (value < 0 || (!allowZero && value == 0))
        {
            errors[field] = [allowZero ? $"'{field}' may not be negative." : $"'{field}' must be greater than zero."];
            return false;
        }

        if (value > MaxAmount)
        {
            errors[field] = [$"'{field}' may be at most {MaxAmount:0}."];
            return false;
        }

        if (decimal.Round(value, 2) != value)
        {
            errors[field] = [$"'{field}' may have at most two decimal places."];
            return false;
        }

        cents = (long)(value * 100);
        return true;
    }
}
