using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Workshop.Steps;

/// <summary>A service of the step running as a plain process on this machine, its log lines prefixed with its name.</summary>
public sealed partial class LocalProcess : IAsyncDisposable
{
    private readonly Process _process;
    private string? _outermostException;
    private string? _innermostException;
    private bool _readingInnerExceptions;

    private LocalProcess(Process process) => _process = process;

    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;
    public int Id => _process.Id;
    public Task Exited { get; private set; } = Task.CompletedTask;

    /// <summary>
    /// Why a .NET service ended, when an exception nothing caught ended it, as the runtime's line
    /// "Unhandled exception. Namespace.TypeException: message." says it: "TypeException: message".
    /// A setting the service refuses at start (ValidateOnStart) ends it this way. Where the runtime
    /// names inner exceptions next (" ---> ..."), the innermost follows: "...; caused by TypeException: message".
    /// </summary>
    public string? UnhandledException =>
        Volatile.Read(ref _outermostException) is not { } outermost ? null
        : Volatile.Read(ref _innermostException) is { } innermost ? $"{outermost}; caused by {innermost}"
        : outermost;

    /// <summary>How the process ended, for a message: "exit code 134: OptionsValidationException: ...".</summary>
    public string Ending => UnhandledException is { } exception ? $"exit code {ExitCode}: {exception}" : $"exit code {ExitCode}";

    /// <summary>Stopped by <see cref="Pause"/>: alive, holding its port, answering nothing.</summary>
    public bool IsPaused { get; private set; }

    public static LocalProcess Start(LocalCommand command, int prefixWidth, int colour)
    {
        var start = new ProcessStartInfo(command.Program)
        {
            WorkingDirectory = command.WorkingDirectory,
            // The terminal's input is workshop's own (it reads commands from it); the service gets none.
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in command.Arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in command.Environment)
        {
            start.Environment[key] = value;
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new UserError($"could not start {command.Name}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new UserError($"could not start {command.Name} ({command.Program}): {e.Message}");
        }

        var local = new LocalProcess(process);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Ui.Prefixed(command.Name, prefixWidth, colour, e.Data); };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                local.Notice(e.Data);
                Ui.Prefixed(command.Name, prefixWidth, colour, e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        local.Exited = process.WaitForExitAsync();
        return local;
    }

    // Called for one line of standard error at a time, in order.
    private void Notice(string line)
    {
        const string Unhandled = "Unhandled exception. ";
        const string Inner = " ---> ";
        if (_outermostException is null && line.StartsWith(Unhandled, StringComparison.Ordinal))
        {
            // The first one is the one that ended the process.
            _readingInnerExceptions = true;
            Volatile.Write(ref _outermostException, Describe(line[Unhandled.Length..]));
        }
        else if (_readingInnerExceptions && line.StartsWith(Inner, StringComparison.Ordinal))
        {
            // Outermost first: the last of these is where it began, often the only line that says what is wrong
            // ("Unable to load or apply the proxy configuration", caused by the address that is not one).
            Volatile.Write(ref _innermostException, Describe(line[Inner.Length..]));
        }
        else
        {
            _readingInnerExceptions = false;
        }
    }

    /// <summary>"Namespace.TypeException: message." as "TypeException: message".</summary>
    private static string Describe(string exception)
    {
        var described = UnhandledExceptionPattern().Replace(exception.TrimEnd(), "${type}");
        return described.EndsWith('.') ? described[..^1] : described;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^(?:[A-Za-z_]\w*\.)+(?<type>\w+)(?=[ :])")]
    private static partial System.Text.RegularExpressions.Regex UnhandledExceptionPattern();

    /// <summary>
    /// Freezes the process as Ctrl-Z does (SIGSTOP): a hung service. Its child processes too, such as
    /// nginx's workers, which would otherwise go on answering. Not on Windows.
    /// </summary>
    public void Pause()
    {
        foreach (var pid in ProcessTree.Of(_process.Id))
        {
            _ = Kill(pid, SigStop);
        }

        IsPaused = true;
    }

    /// <summary>Lets a paused process and its children run on (SIGCONT).</summary>
    public void Resume()
    {
        foreach (var pid in ProcessTree.Of(_process.Id))
        {
            _ = Kill(pid, SigCont);
        }

        IsPaused = false;
    }

    /// <summary>
    /// Asks the process and its children to shut down as Ctrl-C would, and kills them if they have not
    /// stopped in ten seconds. The children too: a wrapper script that ends on SIGTERM would leave the
    /// program it started running, holding its port.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            List<int> tree = [];
            if (OperatingSystem.IsWindows())
            {
                _process.Kill(entireProcessTree: true);
            }
            else
            {
                tree = ProcessTree.Of(_process.Id);
                foreach (var pid in tree)
                {
                    _ = Kill(pid, Sigterm);
                }

                if (IsPaused)
                {
                    // A stopped process acts on SIGTERM only once it runs again.
                    Resume();
                }
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                // Also waits for the end of its output, which its children hold open as long as they run.
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                foreach (var pid in tree)
                {
                    _ = Kill(pid, Sigkill);
                }
            }
        }

        _process.Dispose();
    }

    private const int Sigterm = 15;
    private const int Sigkill = 9;
    private static readonly int SigStop = OperatingSystem.IsMacOS() ? 17 : 19;
    private static readonly int SigCont = OperatingSystem.IsMacOS() ? 19 : 18;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
