using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace ServiceDefaults.Discovery;

/// <summary>
/// Keeps the healthy instances of one service current with Consul's blocking queries: each query
/// hangs until the list changes (or <c>BlockingWait</c> passes), so a change arrives within
/// milliseconds and nothing polls. As Consul's documentation asks of a client: the index starts again
/// at 0 when it goes backwards (Consul restarted), and a query that returns at once without a change
/// is followed by a pause, so the loop never spins.
/// When Consul fails (down, an error, an answer that is not a list, no healthy instance at all), the
/// last known instances stay in use; one log line says so when the state changes, not one per query.
/// </summary>
public sealed partial class ConsulServiceWatcher : IAsyncDisposable
{
    private static readonly TimeSpan MinimumPause = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaximumBackoff = TimeSpan.FromSeconds(10);

    private readonly ConsulClient _consul;
    private readonly ConsulOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _firstAnswer = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _loop;
    private CancellationTokenSource _changed = new();
    private IReadOnlyList<ServiceInstanceAddress> _instances = [];
    private string? _problem;

    public ConsulServiceWatcher(string serviceName, ConsulClient consul, ConsulOptions options, ILogger logger)
    {
        ServiceName = serviceName;
        _consul = consul;
        _options = options;
        _logger = logger;
        _loop = Task.Run(WatchAsync);
    }

    public string ServiceName { get; }

    /// <summary>The healthy instances last known; empty until Consul has named at least one.</summary>
    public IReadOnlyList<ServiceInstanceAddress> Instances => Volatile.Read(ref _instances);

    /// <summary>Fires when <see cref="Instances"/> changes.</summary>
    public IChangeToken ChangeToken => new CancellationChangeToken(Volatile.Read(ref _changed).Token);

    /// <summary>Completes once Consul has answered, or failed to, for the first time.</summary>
    public Task FirstAnswer => _firstAnswer.Task;

    private async Task WatchAsync()
    {
        ulong index = 0;
        var backoff = MinimumPause;
        while (!_stop.IsCancellationRequested)
        {
            var asked = TimeProvider.System.GetTimestamp();
            try
            {
                var answer = await _consul.GetPassingAsync(ServiceName, index, _options.BlockingWait, _stop.Token);
                backoff = MinimumPause;
                var changed = Apply(answer.Instances);

                // Consul's index only grows; one that went back means a restarted Consul: start over.
                index = answer.Index < index ? 0 : answer.Index;
                if (!changed && TimeProvider.System.GetElapsedTime(asked) < MinimumPause)
                {
                    await Task.Delay(MinimumPause, _stop.Token);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is ConsulException or HttpRequestException)
            {
                Trouble(e.Message);
                index = 0;
                // A failed answer is an answer: a caller waiting for the first one uses configuration now, not after the pause.
                _firstAnswer.TrySetResult();
                try
                {
                    await Task.Delay(backoff, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaximumBackoff.Ticks));
            }
            finally
            {
                _firstAnswer.TrySetResult();
            }
        }
    }

    private bool Apply(IReadOnlyList<ServiceInstanceAddress> answer)
    {
        if (answer.Count == 0)
        {
            // Consul names no healthy instance: calling the last known ones is the better bet than none.
            Trouble("Consul lists no healthy instance");
            return false;
        }

        if (_problem is not null)
        {
            LogRecovered(_logger, ServiceName, _options.Address);
            _problem = null;
        }

        var sorted = answer.DistinctBy(i => i.Id).OrderBy(i => i.Id, StringComparer.Ordinal).ToList();
        if (sorted.SequenceEqual(Instances))
        {
            return false;
        }

        Volatile.Write(ref _instances, sorted);
        LogInstances(_logger, ServiceName, sorted.Count, string.Join(", ", sorted.Select(i => $"{i.Host}:{i.Port}")));
        var previous = Interlocked.Exchange(ref _changed, new CancellationTokenSource());
        previous.Cancel();
        previous.Dispose();
        return true;
    }

    private void Trouble(string problem)
    {
        if (problem == _problem)
        {
            return;
        }

        _problem = problem;
        var known = Instances;
        if (known.Count > 0)
        {
            LogKeepingLastKnown(_logger, _options.Address, ServiceName, problem, known.Count);
        }
        else
        {
            LogUsingConfiguration(_logger, _options.Address, ServiceName, problem);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
        _changed.Dispose();
    }

    [LoggerMessage(LogLevel.Information, "Consul: {Service} has {Count} healthy instance(s): {Instances}")]
    private static partial void LogInstances(ILogger logger, string service, int count, string instances);

    [LoggerMessage(LogLevel.Warning, "Consul at {Consul} cannot tell where {Service} is ({Reason}): calling the {Count} instance(s) it named last")]
    private static partial void LogKeepingLastKnown(ILogger logger, Uri? consul, string service, string reason, int count);

    [LoggerMessage(LogLevel.Warning, "Consul at {Consul} cannot tell where {Service} is ({Reason}): calling the address in configuration")]
    private static partial void LogUsingConfiguration(ILogger logger, Uri? consul, string service, string reason);

    [LoggerMessage(LogLevel.Information, "Consul at {Consul} answers again about {Service}")]
    private static partial void LogRecovered(ILogger logger, string service, Uri? consul);
}

/// <summary>One watcher per service name, shared by every client that calls it; started on first use.</summary>
public sealed class ConsulServiceWatchers(ConsulClient consul, IOptions<ConsulOptions> options, ILoggerFactory loggers) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<ConsulServiceWatcher>> _watchers = new(StringComparer.OrdinalIgnoreCase);

    public ConsulServiceWatcher For(string serviceName) =>
        _watchers.GetOrAdd(serviceName, name => new Lazy<ConsulServiceWatcher>(() =>
            new ConsulServiceWatcher(name, consul, options.Value, loggers.CreateLogger<ConsulServiceWatcher>()))).Value;

    public async ValueTask DisposeAsync()
    {
        foreach (var watcher in _watchers.Values.Where(w => w.IsValueCreated))
        {
            await watcher.Value.DisposeAsync();
        }
    }
}
