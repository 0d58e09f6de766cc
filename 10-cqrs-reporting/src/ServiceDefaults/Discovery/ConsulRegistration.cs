using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ServiceDefaults.Discovery;

/// <summary>
/// Registers this instance in Consul once it listens, with an HTTP check on its <c>/health/ready</c>,
/// and deregisters it on a graceful stop. Consul asks the instance every <c>CheckInterval</c>: an
/// instance that is not ready (its database gone) or not there at all (crashed) turns critical, and
/// callers stop getting it; a crashed one is removed after <c>DeregisterCriticalServiceAfter</c>.
/// Consul down or failing never stops the service: it says so once, keeps serving, and registers as
/// soon as Consul answers again (also when Consul restarted and forgot it: every two check intervals
/// the instance asks whether Consul still knows it).
/// </summary>
internal sealed partial class ConsulRegistration(
    ConsulClient consul, ServiceInstance instance, IOptions<ConsulOptions> options, IHostApplicationLifetime lifetime,
    ILogger<ConsulRegistration> logger) : BackgroundService, IHostedLifecycleService
{
    private readonly ConsulOptions _options = options.Value;
    private bool _registered;
    private string? _lastProblem;

    private string CheckId => $"service:{instance.Id}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The port is known, and the instance can answer its callers, only once the server has started.
        if (!await ServerStartedAsync(stoppingToken))
        {
            return;
        }

        var beat = _options.CheckInterval * 2;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!_registered || !await consul.KnowsAsync(instance.Id, stoppingToken))
                {
                    if (_registered)
                    {
                        LogForgotten(logger, instance.Id);
                    }

                    await RegisterAsync(stoppingToken);
                }

                if (_lastProblem is not null)
                {
                    LogReachableAgain(logger, _options.Address);
                    _lastProblem = null;
                }
            }
            catch (Exception e) when (e is ConsulException or HttpRequestException && !stoppingToken.IsCancellationRequested)
            {
                // One line when the problem starts or changes, not one every few seconds.
                if (e.Message != _lastProblem)
                {
                    LogUnreachable(logger, _options.Address, e.Message, instance.Id);
                    _lastProblem = e.Message;
                }
            }

            try
            {
                await Task.Delay(beat, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// On a graceful stop, before the web server stops (ASP.NET Core stops it before the other hosted
    /// services): the instance leaves the registry while it still answers, and keeps answering a
    /// moment, so callers learn that it left before it stops taking their calls.
    /// </summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (!_registered)
        {
            return;
        }

        _registered = false;
        try
        {
            await consul.DeregisterAsync(instance.Id, cancellationToken);
            LogDeregistered(logger, instance.Id);
            await Task.Delay(_options.DrainDelay, cancellationToken);
        }
        catch (Exception e) when (e is ConsulException or HttpRequestException or OperationCanceledException)
        {
            LogNotDeregistered(logger, instance.Id, e.Message);
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task RegisterAsync(CancellationToken ct)
    {
        await consul.RegisterAsync(new ServiceRegistration(
            instance.Id, instance.ServiceName, instance.Address, instance.Port,
            new Dictionary<string, string> { ["instance"] = instance.Id },
            new ServiceCheck(CheckId, $"{instance.ServiceName} is ready (HTTP /health/ready)",
                $"http://{instance.Address}:{instance.Port}/health/ready",
                GoDuration(_options.CheckInterval), GoDuration(_options.CheckTimeout),
                GoDuration(_options.DeregisterCriticalServiceAfter))), ct);
        // The check starts critical: callers get this instance once Consul's first probe finds it ready.
        _registered = true;
        LogRegistered(logger, instance.Id, instance.Address, instance.Port, _options.Address);
    }

    private async Task<bool> ServerStartedAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource();
        using var onStarted = lifetime.ApplicationStarted.Register(started.SetResult);
        using var onStopping = stoppingToken.Register(() => started.TrySetCanceled());
        try
        {
            await started.Task;
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static string GoDuration(TimeSpan value) => ((long)value.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";

    [LoggerMessage(LogLevel.Information, "Registered {ServiceId} at {Address}:{Port} in Consul at {Consul}")]
    private static partial void LogRegistered(ILogger logger, string serviceId, string address, int port, Uri? consul);

    [LoggerMessage(LogLevel.Information, "Deregistered {ServiceId} from Consul")]
    private static partial void LogDeregistered(ILogger logger, string serviceId);

    [LoggerMessage(LogLevel.Warning, "Could not deregister {ServiceId} from Consul ({Reason}); it turns critical at Consul's next probe")]
    private static partial void LogNotDeregistered(ILogger logger, string serviceId, string reason);

    [LoggerMessage(LogLevel.Warning, "Consul at {Consul} cannot be reached ({Reason}): {ServiceId} serves on unregistered and registers once Consul answers")]
    private static partial void LogUnreachable(ILogger logger, Uri? consul, string reason, string serviceId);

    [LoggerMessage(LogLevel.Information, "Consul at {Consul} answers again")]
    private static partial void LogReachableAgain(ILogger logger, Uri? consul);

    [LoggerMessage(LogLevel.Warning, "Consul no longer knows {ServiceId} (restarted, or removed it): registering again")]
    private static partial void LogForgotten(ILogger logger, string serviceId);
}
