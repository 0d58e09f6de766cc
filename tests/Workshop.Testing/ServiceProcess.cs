using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Workshop.Testing;

/// <summary>
/// One of the step's services running as a real process on a free loopback port. Kestrel picks the
/// port (--urls http://127.0.0.1:0) and logs it, so tests can run in parallel without fighting over ports.
/// </summary>
public sealed partial class ServiceProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _log = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServiceProcess(string project, Process process)
    {
        Project = project;
        _process = process;
    }

    public string Project { get; }

    public Uri BaseAddress { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public IReadOnlyCollection<string> Log => _log;

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Configuration every service started by this test assembly gets before its own: a step's tests
    /// set what all of them need once (for example, where Consul is not).
    /// </summary>
    public static ConcurrentDictionary<string, string> CommonConfiguration { get; } = new()
    {
        // Users' wait for accounts is 3 s in the services' appsettings (1 s per attempt from step 07 on).
        // A first, cold call (JIT, EF Core's model) took longer than that on a CI machine with four test
        // assemblies on two cores, and a test of something else failed on it. The tests of those waits
        // set their own values.
        ["AccountsClient__Timeout"] = "00:00:30",
        ["Resilience__Accounts__Timeout"] = "00:00:30",
        ["Resilience__Accounts__AttemptTimeout"] = "00:00:10",
    };

    /// <summary>
    /// Starts a service (e.g. "Users") with the given configuration and waits until /health answers 200.
    /// Port 0 lets Kestrel pick a free port; a test that restarts a service passes the port it had.
    /// <paramref name="host"/> 0.0.0.0 listens on every interface, as in a container; the test still
    /// talks to it on loopback.
    /// </summary>
    public static async Task<ServiceProcess> StartAsync(string project, IReadOnlyDictionary<string, string> configuration, int port = 0, string host = "127.0.0.1")
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = StepPaths.ProjectDirectory(project),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(StepPaths.Assembly(project));
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://{host}:{port}");
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in CommonConfiguration.Concat(configuration))
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{project} did not start");
        var service = new ServiceProcess(project, process);
        process.OutputDataReceived += (_, e) => service.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => service.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            await service.WaitUntilReadyAsync();
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }

        return service;
    }

    /// <summary>
    /// Starts a service that should refuse its configuration and exit while starting; returns what the
    /// start reported (the exit code and the end of its log). Should it start after all, it is stopped
    /// again and the assertion fails, so no process is left behind.
    /// </summary>
    public static async Task<string> AssertRefusesToStartAsync(string project, IReadOnlyDictionary<string, string> configuration)
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await using var started = await StartAsync(project, configuration);
        });
        Assert.Contains("exited with code", error.Message);
        return error.Message;
    }

    /// <summary>Waits for a log line containing <paramref name="text"/>; the lines seen so far count.</summary>
    public async Task<string> WaitForLogAsync(string text, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            var line = _log.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
            if (line is not null)
            {
                return line;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"{Project} logged no line containing '{text}' within {timeout.TotalSeconds:0} s.\n{Tail()}");
    }

    /// <summary>Stops the service as `docker stop` or Ctrl-C would (SIGTERM), killing it if it does not stop in time.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            _process.Kill(entireProcessTree: true);
        }
        else
        {
            _ = Kill(_process.Id, 15);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>Ends the service at once (SIGKILL), as a crash or `docker kill` would: it cannot clean up.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Client?.Dispose();
        _process.Dispose();
    }

    public string Tail(int lines = 40) => $"--- last log lines of {Project} ---\n" + string.Join('\n', _log.TakeLast(lines));

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        _log.Enqueue(line);
        var match = ListeningOn().Match(line);
        if (match.Success)
        {
            // Listening on every interface, it answers on loopback too.
            _listening.TrySetResult(new Uri(match.Groups["url"].Value.Replace("://0.0.0.0:", "://127.0.0.1:", StringComparison.Ordinal)));
        }
    }

    private async Task WaitUntilReadyAsync()
    {
        var watch = Stopwatch.StartNew();
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(_listening.Task, exited, Task.Delay(StartTimeout));
        if (first != _listening.Task)
        {
            throw new InvalidOperationException(
                (_process.HasExited ? $"{Project} exited with code {_process.ExitCode} while starting.\n" : $"{Project} did not start listening.\n") + Tail());
        }

        BaseAddress = await _listening.Task;
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

        while (watch.Elapsed < StartTimeout)
        {
            try
            {
                using var response = await Client.GetAsync("/health");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (_process.HasExited)
            {
                break;
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException($"{Project} did not become healthy.\n{Tail()}");
    }

    [GeneratedRegex(@"Now listening on: (?<url>http://\S+)")]
    private static partial Regex ListeningOn();

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
