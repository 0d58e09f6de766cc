using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Workshop.Testing.Consul;

/// <summary>
/// A stand-in for a Consul agent, for the tests of the steps that use Consul (service discovery,
/// server-side discovery, health checks): real Consul cannot run where the tests run. It serves, on
/// 127.0.0.1, the part of Consul's HTTP API that the services use, answering as Consul does (status
/// codes, plain-text errors, PascalCase JSON, <c>X-Consul-Index</c> and blocking queries, <c>?passing</c>),
/// and runs the services' checks as Consul does: TTL checks expire, HTTP checks probe the services.
/// The services cannot tell it from Consul.
/// <para>
/// Endpoints: <c>PUT /v1/agent/service/register</c>, <c>PUT /v1/agent/service/deregister/{id}</c>,
/// <c>PUT /v1/agent/check/pass|warn|fail/{checkId}?note=</c>, <c>PUT /v1/agent/check/update/{checkId}</c>,
/// <c>GET /v1/health/service/{name}</c> (blocking), <c>GET /v1/catalog/services</c> (blocking),
/// <c>GET /v1/agent/services</c>, <c>GET /v1/agent/checks</c>, <c>GET /v1/status/leader</c>, <c>GET /v1/status/peers</c>.
/// </para>
/// <para>
/// For tests it also: goes down and comes back on the same port (<see cref="StopAsync"/>,
/// <see cref="BringUpAsync"/>), misbehaves on demand (<see cref="Fault"/>, <see cref="ResetIndex"/>),
/// shows what it holds and what it was asked (<see cref="Registry"/>, <see cref="Requests"/>), and
/// waits for a state (<see cref="WaitUntilAsync"/>). Consul's slow timings (the 1-minute floor of
/// <c>DeregisterCriticalServiceAfter</c>, the 30-second reaper, the random delay before a first HTTP
/// probe) are Consul's by default and can be shortened in <see cref="ConsulStandInOptions"/>.
/// </para>
/// <para>
/// The index (<c>X-Consul-Index</c>) is one counter for the agent, as Consul's Raft index: it moves
/// when a service or check is added, changed or removed and when a check's status changes. A write
/// that changes nothing (the same registration again, a TTL pass on a passing check) leaves it, as
/// Consul skips unchanged entries. A change of a check's output alone leaves it too, because Consul
/// defers syncing output-only changes (<c>check_update_interval</c>, 5 minutes): the new output is
/// shown at once, but blocked queries do not wake for it. Each service name answers with the index of
/// its own last change, so a query on <c>accounts</c> is not woken by <c>users</c>.
/// </para>
/// <para>
/// Left out, as the services do not use them: ACLs and tokens, <c>?filter</c> (refused with a 400
/// rather than ignored), <c>?near</c>, <c>?cached</c>, the other endpoints (<c>/v1/catalog/service/</c>,
/// <c>/v1/agent/check/register</c>, KV…), hash-based blocking on <c>/v1/agent/service/{id}</c>,
/// maintenance mode, and running TCP, gRPC, script or alias checks (accepted and validated, left at
/// their initial status). Check hysteresis (<c>SuccessBeforePassing</c>, <c>FailuresBeforeCritical</c>)
/// is not applied, and <c>consul</c>'s own service appears only in <c>/v1/catalog/services</c>.
/// </para>
/// </summary>
public sealed class ConsulStandIn : IAsyncDisposable
{
    private readonly ConsulStandInOptions _options;
    private readonly ILogger _logger;
    private readonly AgentState _state;
    private readonly FaultSwitch _faults = new();
    private readonly RequestLog _requests = new();
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly AgentNode _node;
    private int _port;
    private WebApplication? _app;
    private CancellationTokenSource? _stopping;
    private Task _reaper = Task.CompletedTask;

    private ConsulStandIn(ConsulStandInOptions options)
    {
        _options = options;
        _logger = (options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Workshop.Testing.Consul");
        _state = new AgentState(options, _logger);
        _port = options.Port;
        _node = new AgentNode(Guid.NewGuid().ToString(), options.NodeName, IPAddress.Loopback.ToString(), options.Datacenter, CreateIndex: 1);
    }

    /// <summary>Starts a stand-in on 127.0.0.1, on <see cref="ConsulStandInOptions.Port"/> or a free port.</summary>
    public static async Task<ConsulStandIn> StartAsync(ConsulStandInOptions? options = null)
    {
        var consul = new ConsulStandIn(options ?? new ConsulStandInOptions());
        try
        {
            await consul.BringUpAsync();
            return consul;
        }
        catch
        {
            await consul.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts a stand-in on 127.0.0.1 on the given port.</summary>
    public static Task<ConsulStandIn> StartAsync(int port, ConsulStandInOptions? options = null) =>
        StartAsync((options ?? new ConsulStandInOptions()) with { Port = port });

    /// <summary>
    /// A stand-in that is not running yet but whose address is fixed (a free port is reserved when
    /// none is given): for "Consul is down when the services start, and comes up later". Nothing
    /// listens there until <see cref="BringUpAsync"/>.
    /// </summary>
    public static ConsulStandIn Create(ConsulStandInOptions? options = null)
    {
        options ??= new ConsulStandInOptions();
        return new ConsulStandIn(options.Port == 0 ? options with { Port = FreeLoopbackPort() } : options);
    }

    /// <summary>Where the services reach it: <c>http://127.0.0.1:{port}/</c>. Known before it first listens only when created with <see cref="Create"/>.</summary>
    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    /// <summary>The port it listens on (or will listen on).</summary>
    public int Port => _port != 0 ? _port : throw new InvalidOperationException("The stand-in has not chosen its port yet: start it, or create it with Create().");

    /// <summary>Whether it accepts connections now.</summary>
    public bool IsRunning => _app is not null;

    /// <summary>
    /// The fault in force; <see cref="ConsulFault.None"/> to answer normally. Takes effect for the next
    /// requests; requests hung by <see cref="ConsulFault.Hang"/> are answered as soon as it is lifted.
    /// </summary>
    public ConsulFault Fault
    {
        get => _faults.Current;
        set
        {
            _logger.LogInformation("Fault {Fault}", value);
            _faults.Current = value;
        }
    }

    /// <summary>The index of the last change (Consul's <c>X-Consul-Index</c> for the whole agent).</summary>
    public ulong Index => _state.View().Registry.Index;

    /// <summary>What it holds now: every service instance with its checks.</summary>
    public ConsulRegistry Registry => _state.View().Registry;

    /// <summary>Every request received since it was created, in order (method, path, query).</summary>
    public IReadOnlyList<ConsulRequest> Requests => _requests.Snapshot().Requests;

    /// <summary>How many requests came with this method and exactly this path (any query).</summary>
    public int CountRequests(string method, string path) =>
        Requests.Count(r => r.Method == method && r.Path == path);

    /// <summary>
    /// Comes up on its port: after <see cref="Create"/>, or again after <see cref="StopAsync"/>, keeping
    /// what it held (as an agent that keeps its data directory). TTL timers start again from now and
    /// HTTP checks probe again.
    /// </summary>
    public async Task BringUpAsync()
    {
        await _lifecycle.WaitAsync();
        try
        {
            if (_app is not null)
            {
                return;
            }

            var stopping = new CancellationTokenSource();
            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
            builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
            {
                kestrel.AddServerHeader = false;
                kestrel.Listen(IPAddress.Loopback, _port);
            });
            builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(5));
            var app = builder.Build();
            var api = new ConsulHttpApi(_state, _faults, _requests, _node, stopping.Token);
            app.Run(api.HandleAsync);
            try
            {
                await app.StartAsync();
            }
            catch
            {
                await app.DisposeAsync();
                stopping.Dispose();
                throw;
            }

            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            _port = new Uri(address).Port;
            _app = app;
            _stopping = stopping;
            _state.StartRunners();
            _reaper = ReapAsync(stopping.Token);
            _logger.LogInformation("Consul stand-in listening on {BaseAddress}", BaseAddress);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Goes down: the port refuses connections, requests in progress (blocked or hung) lose their
    /// connection, checks stop running. What it held is kept for <see cref="BringUpAsync"/>.
    /// </summary>
    public async Task StopAsync()
    {
        await _lifecycle.WaitAsync();
        try
        {
            if (_app is null)
            {
                return;
            }

            await _stopping!.CancelAsync();
            await _app.StopAsync();
            await _app.DisposeAsync();
            await _reaper;
            await _state.StopRunnersAsync();
            _stopping.Dispose();
            _app = null;
            _stopping = null;
            _logger.LogInformation("Consul stand-in stopped");
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Sets the index back to <paramref name="index"/> (at least 1), as after a Consul restart, and
    /// answers every blocked query at once with it: clients must notice that the index went backwards
    /// and start again from 0. Registrations are kept; later changes count up from there.
    /// </summary>
    public void ResetIndex(ulong index = 1) => _state.ResetIndex(index);

    /// <summary>
    /// Sets a check's status and output, as if its probe had found it or its service had reported it
    /// (a TTL check's timer restarts). False when no check has this ID.
    /// </summary>
    public bool SetCheckStatus(string checkId, string status, string output = "")
    {
        if (!CheckStatus.IsValid(status))
        {
            throw new ArgumentException($"Not a check status: '{status}'", nameof(status));
        }

        return _state.SetCheckStatus(checkId, status, output);
    }

    /// <summary>Removes a service instance and its checks, as if it had been deregistered. False when unknown.</summary>
    public bool Deregister(string serviceId) => _state.Deregister(serviceId, "deregistered by the test");

    /// <summary>
    /// Waits until <paramref name="condition"/> holds for the registry, checking at each change; returns
    /// the registry that satisfied it. Throws <see cref="TimeoutException"/>, saying what it held, when
    /// <paramref name="timeout"/> passes first.
    /// </summary>
    public async Task<ConsulRegistry> WaitUntilAsync(Func<ConsulRegistry, bool> condition, TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var view = _state.View();
            if (condition(view.Registry))
            {
                return view.Registry;
            }

            var remaining = timeout - Stopwatch.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                throw new TimeoutException($"The Consul stand-in did not reach the expected state within {timeout.TotalSeconds:0.#} s. It holds: {view.Registry}");
            }

            await WhenSignalledAsync(view.Changed, remaining);
        }
    }

    /// <summary>
    /// Waits until <paramref name="condition"/> holds for the requests received so far; returns them.
    /// Throws <see cref="TimeoutException"/>, listing them, when <paramref name="timeout"/> passes first.
    /// </summary>
    public async Task<IReadOnlyList<ConsulRequest>> WaitForRequestsAsync(Func<IReadOnlyList<ConsulRequest>, bool> condition, TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var (requests, added) = _requests.Snapshot();
            if (condition(requests))
            {
                return requests;
            }

            var remaining = timeout - Stopwatch.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                throw new TimeoutException($"The Consul stand-in did not receive the expected requests within {timeout.TotalSeconds:0.#} s. It received: {string.Join(", ", requests)}");
            }

            await WhenSignalledAsync(added, remaining);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _state.Dispose();
        _lifecycle.Dispose();
    }

    private async Task ReapAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(_options.ReapInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
            {
                _state.Reap();
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private static async Task WhenSignalledAsync(Task signal, TimeSpan timeout)
    {
        try
        {
            await signal.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
