using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace ServiceDefaults.Telemetry;

/// <summary>
/// One line per log entry, as the simple console formatter writes it with <c>SingleLine</c>, plus the
/// trace and span the entry was written in:
/// <c>12:00:01 warn: Users.Clients.AccountsClient[0] [trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7] Accounts service answered 500</c>.
/// Paste the trace id into Jaeger's search to see the whole request. Entries outside a span (start-up)
/// have no such part.
/// </summary>
public sealed class TraceConsoleFormatter(IOptionsMonitor<ConsoleFormatterOptions> options) : ConsoleFormatter(FormatterName)
{
    public const string FormatterName = "trace";

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null)
        {
            return;
        }

        var settings = options.CurrentValue;
        if (settings.TimestampFormat is { } format)
        {
            var now = settings.UseUtcTimestamp ? DateTimeOffset.UtcNow : DateTimeOffset.Now;
            textWriter.Write(now.ToString(format, System.Globalization.CultureInfo.InvariantCulture));
        }

        textWriter.Write(Level(logEntry.LogLevel));
        textWriter.Write(": ");
        textWriter.Write(logEntry.Category);
        textWriter.Write('[');
        textWriter.Write(logEntry.EventId.Id);
        textWriter.Write("] ");
        if (Activity.Current is { } activity)
        {
            textWriter.Write("[trace ");
            textWriter.Write(activity.TraceId.ToHexString());
            textWriter.Write(" span ");
            textWriter.Write(activity.SpanId.ToHexString());
            textWriter.Write("] ");
        }

        textWriter.Write(OneLine(message));
        if (logEntry.Exception is { } exception)
        {
            textWriter.Write(' ');
            textWriter.Write(OneLine(exception.ToString()));
        }

        textWriter.Write(Environment.NewLine);
    }

    private static string OneLine(string? text) => (text ?? "").ReplaceLineEndings(" ");

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "none",
    };
}
