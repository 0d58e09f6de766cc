using System.Collections.Concurrent;
using System.Diagnostics;

namespace Repository.Tests;

/// <summary>Runs the workshop command (the built tools/Workshop) from the repository root.</summary>
public sealed class WorkshopCommand : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentQueue<string> _errors = new();

    private WorkshopCommand(Process process) => _process = process;

    public string Output => string.Join('\n', _output);

    public string Errors => string.Join('\n', _errors);

    public int ExitCode => _process.ExitCode;

    public static WorkshopCommand Start(params string[] args) => Start(new Dictionary<string, string>(), args);

    public static WorkshopCommand Start(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        // A person at a terminal runs workshop with every signal at its default. A test run started
        // with nohup, or as a background job of a script, ignores SIGHUP or SIGINT, and a program keeps
        // the signals ignored that it was started with; GNU env puts them back (and then becomes dotnet,
        // same process), so Ctrl-C and a closing terminal reach workshop as they would a person's.
        var start = new ProcessStartInfo(ResetsSignals ? "env" : "dotnet")
        {
            WorkingDirectory = Repo.Root,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (ResetsSignals)
        {
            start.ArgumentList.Add("--default-signal=HUP,INT,TERM");
            start.ArgumentList.Add("dotnet");
        }

        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Workshop.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["NO_COLOR"] = "1";
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        var process = Process.Start(start)!;
        var command = new WorkshopCommand(process);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) command._output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) command._errors.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return command;
    }

    /// <summary>Whether env here can put signals back to their defaults (GNU coreutils 8.31 and later).</summary>
    private static bool ResetsSignals => s_resetsSignals.Value;

    private static readonly Lazy<bool> s_resetsSignals = new(() =>
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            using var env = Process.Start(new ProcessStartInfo("env", ["--default-signal=HUP", "true"]) { RedirectStandardError = true })!;
            env.WaitForExit();
            return env.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    });

    public static Task<WorkshopCommand> RunAsync(params string[] args) => RunAsync(new Dictionary<string, string>(), args);

    public static async Task<WorkshopCommand> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var command = Start(environment, args);
        await command.WaitForExitAsync(TimeSpan.FromMinutes(3));
        return command;
    }

    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            var state = _process.HasExited ? "has exited, but something still holds its output open" : "is still running";
            throw new Xunit.Sdk.XunitException($"workshop {state} after {timeout.TotalSeconds:0} s.\nstdout:\n{Output}\nstderr:\n{Errors}");
        }

        _process.WaitForExit(); // flushes the redirected output
    }

    /// <param name="times">How many times the text must have been printed: 2 waits for a line printed once already.</param>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout, int times = 1)
    {
        var watch = Stopwatch.StartNew();
        while (Output.Split(text).Length - 1 < times)
        {
            if (_process.HasExited || watch.Elapsed > timeout)
            {
                throw new Xunit.Sdk.XunitException($"workshop printed '{text}' fewer than {times} times.\nstdout:\n{Output}\nstderr:\n{Errors}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>A line typed at the terminal, as a person would type it and press Enter.</summary>
    public async Task TypeAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>The end of the input (Ctrl-D): nobody is there to answer.</summary>
    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>Ctrl-C, as a person at the terminal would press it.</summary>
    public void Interrupt() => Signals.Send(_process.Id, Signals.Interrupt);

    /// <summary>SIGHUP, what a program gets when its terminal window closes.</summary>
    public void HangUp() => Signals.Send(_process.Id, Signals.HangUp);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
