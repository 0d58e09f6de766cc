using System.Globalization;
using System.Text;

namespace Workshop.Testing.Consul;

/// <summary>
/// Durations as Consul writes and reads them: Go's <c>time.Duration</c> text ("10s", "1m30s", "1.5s",
/// "500ms"). Consul parses <c>?wait=</c> and the durations of a check definition this way, and writes
/// a check's Interval and Timeout this way.
/// </summary>
public static class GoDuration
{
    private static readonly (string Unit, decimal Nanoseconds)[] Units =
    [
        ("ns", 1m), ("us", 1_000m), ("\u00b5s", 1_000m), ("\u03bcs", 1_000m), ("ms", 1_000_000m),
        ("s", 1_000_000_000m), ("m", 60_000_000_000m), ("h", 3_600_000_000_000m),
    ];

    /// <summary>Parses like Go's <c>time.ParseDuration</c>; the error text is Go's.</summary>
    public static bool TryParse(string text, out TimeSpan duration, out string error)
    {
        duration = TimeSpan.Zero;
        error = "";
        var rest = text;
        var negative = false;
        if (rest.Length > 0 && rest[0] is '-' or '+')
        {
            negative = rest[0] == '-';
            rest = rest[1..];
        }

        if (rest == "0")
        {
            return true;
        }

        if (rest.Length == 0)
        {
            error = $"time: invalid duration \"{text}\"";
            return false;
        }

        var nanoseconds = 0m;
        while (rest.Length > 0)
        {
            var digits = 0;
            while (digits < rest.Length && (char.IsAsciiDigit(rest[digits]) || rest[digits] == '.'))
            {
                digits++;
            }

            var number = rest[..digits];
            if (number.Count(c => c == '.') > 1 || number.Replace(".", "").Length == 0
                || !decimal.TryParse(number == "." ? "" : number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
            {
                error = $"time: invalid duration \"{text}\"";
                return false;
            }

            rest = rest[digits..];
            var unitLength = 0;
            while (unitLength < rest.Length && !char.IsAsciiDigit(rest[unitLength]) && rest[unitLength] != '.')
            {
                unitLength++;
            }

            if (unitLength == 0)
            {
                error = $"time: missing unit in duration \"{text}\"";
                return false;
            }

            var unit = rest[..unitLength];
            var match = Units.Where(u => u.Unit == unit).Select(u => u.Nanoseconds).FirstOrDefault();
            if (match == 0)
            {
                error = $"time: unknown unit \"{unit}\" in duration \"{text}\"";
                return false;
            }

            nanoseconds += value * match;
            rest = rest[unitLength..];
        }

        var ticks = decimal.Truncate(nanoseconds / 100m);
        if (ticks > TimeSpan.MaxValue.Ticks)
        {
            error = $"time: invalid duration \"{text}\"";
            return false;
        }

        duration = TimeSpan.FromTicks((long)(negative ? -ticks : ticks));
        return true;
    }

    /// <summary>Writes like Go's <c>Duration.String()</c>: "0s", "250ms", "10s", "1m0s", "1h30m0s".</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration == TimeSpan.Zero)
        {
            return "0s";
        }

        var text = new StringBuilder();
        if (duration < TimeSpan.Zero)
        {
            text.Append('-');
            duration = duration.Duration();
        }

        if (duration < TimeSpan.FromSeconds(1))
        {
            var nanoseconds = duration.Ticks * 100m;
            var (unit, size) = nanoseconds switch
            {
                < 1_000m => ("ns", 1m),
                < 1_000_000m => ("\u00b5s", 1_000m),
                _ => ("ms", 1_000_000m),
            };
            return text.Append(Number(nanoseconds / size)).Append(unit).ToString();
        }

        var hours = (long)duration.TotalHours;
        if (hours > 0)
        {
            text.Append(hours).Append('h');
        }

        if (hours > 0 || duration.Minutes > 0)
        {
            text.Append(duration.Minutes).Append('m');
        }

        var seconds = duration.Seconds + (duration.Ticks % TimeSpan.TicksPerSecond) / (decimal)TimeSpan.TicksPerSecond;
        return text.Append(Number(seconds)).Append('s').ToString();
    }

    private static string Number(decimal value) => value.ToString("0.#########", CultureInfo.InvariantCulture);
}
