using System.Diagnostics;

namespace Repository.Tests;

/// <summary>What a program printed and how it ended.</summary>
public sealed record ProgramResult(int ExitCode, string Output, string Errors);

/// <summary>Runs a program to its end and collects what it printed (by default from the repository root).</summary>
public static class Shell
{
    /// <exception cref="System.ComponentModel.Win32Exception">The program is not installed.</exception>
    public static async Task<ProgramResult> RunAsync(
        string program,
        IEnumerable<string> args,
        TimeSpan timeout,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory ?? Repo.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"{program} {string.Join(' ', args)} did not finish within {timeout}:\n{await output}\n{await errors}");
        }

        return new ProgramResult(process.ExitCode, await output, await errors);
    }
}
