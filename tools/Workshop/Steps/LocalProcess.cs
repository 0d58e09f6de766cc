using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Workshop.Steps;

/// <summary>A service of the step running as a plain process on this machine, its log lines prefixed with its name.</summary>
public sealed class LocalProcess : IAsyncDisposable
{
    private readonly Process _process;

    private LocalProcess(Process process) => _process = process;

    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;
    public int Id => _process.Id;
    public Task Exited { get; private set; } = Task.CompletedTask;

    /// <summary>Stopped by <see cref="Pause"/>: alive, holding its port, answering nothing.</summary>
    public bool IsPaused { get; private set; }

    public static LocalProcess Start(AppService app, string dll, IReadOnlyDictionary<string, string> environment, int prefixWidth, int colour)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = app.ProjectDirectory,
            // The terminal's input is workshop's own (it reads commands from it); the service gets none.
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(app.Url);
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new UserError($"could not start {app.Name}");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Ui.Prefixed(app.Name, prefixWidth, colour, e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Ui.Prefixed(app.Name, prefixWidth, colour, e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new LocalProcess(process) { Exited = process.WaitForExitAsync() };
    }

    /// <summary>Freezes the process as Ctrl-Z does (SIGSTOP): a hung service. Not on Windows.</summary>
    public void Pause()
    {
        _ = Kill(_process.Id, SigStop);
        IsPaused = true;
    }

    /// <summary>Lets a paused process run on (SIGCONT).</summary>
    public void Resume()
    {
        _ = Kill(_process.Id, SigCont);
        IsPaused = false;
    }

    /// <summary>Asks the process to shut down as Ctrl-C would, and kills it if it has not stopped in ten seconds.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            if (OperatingSystem.IsWindows())
            {
                _process.Kill(entireProcessTree: true);
            }
            else
            {
                _ = Kill(_process.Id, Sigterm);
                if (IsPaused)
                {
                    // A stopped process acts on SIGTERM only once it runs again.
                    Resume();
                }
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
    }

    private const int Sigterm = 15;
    private static readonly int SigStop = OperatingSystem.IsMacOS() ? 17 : 19;
    private static readonly int SigCont = OperatingSystem.IsMacOS() ? 19 : 18;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
