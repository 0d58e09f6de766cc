using System.Diagnostics;

namespace Workshop.Readme;

/// <summary>The outcome of one README command: what it printed and whether that is what the README shows.</summary>
public sealed record TryItResult(TryItCommand Command, bool Passed, string Output, string? Problem);

/// <summary>
/// Runs README commands for real. Each command is one curl call; <c>rewrite</c> lets a caller point the
/// documented addresses (localhost:8001) somewhere else: the tests to their own ports, `workshop check` to
/// ports moved by USERS_PORT and the like.
/// </summary>
public static class TryItRunner
{
    public static async Task<TryItResult> RunAsync(TryItCommand command, Func<string, string> rewrite, CancellationToken ct)
    {
        IReadOnlyList<string> words;
        try
        {
            words = ShellWords.Split(command.Command);
        }
        catch (FormatException e)
        {
            return new TryItResult(command, false, "", e.Message);
        }

        if (IsPause(words, out var pause))
        {
            // A pause the lesson needs (a circuit's break running out); it prints nothing.
            await Task.Delay(pause, ct);
            return OutputMatcher.Matches(command.ExpectedOutput, "")
                ? new TryItResult(command, true, "", null)
                : new TryItResult(command, false, "", "sleep prints nothing; the README shows output for it");
        }

        if (words.Count == 0 || words[0] != "curl")
        {
            return new TryItResult(command, false, "", "only curl commands (and sleep N, up to 60 s) can be checked");
        }

        var start = new ProcessStartInfo("curl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var word in words.Skip(1))
        {
            start.ArgumentList.Add(rewrite(word));
        }

        // Bounded: a command that hangs fails instead of stalling the check.
        start.ArgumentList.Add("--max-time");
        start.ArgumentList.Add("30");

        using var process = Process.Start(start) ?? throw new InvalidOperationException("curl did not start");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        var output = await stdout;

        if (process.ExitCode != 0)
        {
            var error = (await stderr).Trim();
            return new TryItResult(command, false, output, $"curl exited with {process.ExitCode}{(error.Length > 0 ? ": " + error : " (is the step running?)")}");
        }

        return OutputMatcher.Matches(command.ExpectedOutput, output)
            ? new TryItResult(command, true, output, null)
            : new TryItResult(command, false, output, "the output differs from the README");
    }

    /// <summary><c>sleep 5</c>: whole or decimal seconds, at most a minute.</summary>
    public static bool IsPause(IReadOnlyList<string> words, out TimeSpan pause)
    {
        pause = TimeSpan.Zero;
        if (words is not ["sleep", var seconds]
            || !double.TryParse(seconds, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var value)
            || value > 60)
        {
            return false;
        }

        pause = TimeSpan.FromSeconds(value);
        return true;
    }
}
