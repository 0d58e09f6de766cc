namespace Repository.Tests;

/// <summary>What every script under bench/ does with an argument it cannot use.</summary>
internal static class BenchScript
{
    /// <summary>Runs bench/<paramref name="script"/> with <paramref name="argument"/> and asserts it refused it in one line.</summary>
    public static async Task AssertRefusedInOneLineAsync(string script, string argument)
    {
        var result = await Shell.RunAsync("bash", [Path.Combine("bench", script), argument], TimeSpan.FromSeconds(30));
        AssertRefusedInOneLine(result.ExitCode, result.Output + result.Errors, argument);
    }

    /// <summary>Exit code 2 and a single line naming the argument that is not a whole number above 0.</summary>
    public static void AssertRefusedInOneLine(int exitCode, string output, string argument)
    {
        Assert.Equal(2, exitCode);
        var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"'{argument}' is not a whole number above 0", line);
    }
}
