using Microsoft.Extensions.Logging;

namespace Workshop.Testing.Consul;

/// <summary>
/// What the stand-in holds, behind one lock: the services, their checks, what runs the checks, and
/// the index. How the index moves is told on <see cref="ConsulStandIn"/>; in short, like Consul's
/// Raft index: at every real change, and never for an output-only change. Each service name keeps the
/// index of its own last change; a name without instances has the index of the last time a service
/// disappeared (Consul's "extinction index").
/// </summary>
internal sealed class AgentState(ConsulStandInOptions options, ILogger logger) : IDisposable
{
    private static readonly TimeSpan DefaultHttpTimeout = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private readonly TimeProvider _time = TimeProvider.System;
    private readonly Dictionary<string, ServiceEntry> _services = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CheckEntry> _checks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ulong> _serviceIndexes = new(StringComparer.Ordinal);
    private readonly (HttpClient Following, HttpClient NotFollowing) _clients = HttpCheck.CreateClients();
    private readonly List<Task> _probeLoops = [];
    private ulong _index = 1;
    private ulong _servicesIndex = 1;
    private ulong _extinctionIndex = 1;
    private TaskCompletionSource _changed = NewSignal();
    private TaskCompletionSource _indexReset = NewSignal();
    private bool _running;

    /// <summary>A task that completes at the next index reset.</summary>
    public Task NextIndexReset
    {
        get
        {
            lock (_gate)
            {
                return _indexReset.Task;
            }
        }
    }

    /// <summary>Everything at this moment, and a task that completes at the next change.</summary>
    public AgentView View()
    {
        lock (_gate)
        {
            var services = _services.Values
                .OrderBy(s => s.Id, StringComparer.Ordinal)
                .Select(s => s.Snapshot(ChecksOf(s.Id).Select(c => c.Snapshot()).ToList()))
                .ToList();
            return new AgentView(
                new ConsulRegistry(_index, services),
                Math.Max(1, _servicesIndex),
                new Dictionary<string, ulong>(_serviceIndexes),
                Math.Max(1, _extinctionIndex),
                _changed.Task);
        }
    }

    /// <summary>Adds or replaces a service and its checks (<c>PUT /v1/agent/service/register</c>).</summary>
    public void Register(ServiceDefinition definition, bool replaceExistingChecks)
    {
        lock (_gate)
        {
            _services.TryGetValue(definition.Id, out var previous);
            var service = new ServiceEntry(definition);
            var serviceChanged = previous is null || !previous.SameDefinitionAs(service);
            service.CreateIndex = previous?.CreateIndex ?? 0;
            service.ModifyIndex = previous?.ModifyIndex ?? 0;

            var changedChecks = new List<CheckEntry>();
            var sentIds = new HashSet<string>(StringComparer.Ordinal);
            for (var position = 0; position < definition.Checks.Count; position++)
            {
                var check = NewCheck(definition, position);
                sentIds.Add(check.Id);
                if (_checks.TryGetValue(check.Id, out var existing))
                {
                    // Consul re-creates the check but restores its state, so a re-registration does
                    // not turn a passing instance critical.
                    check.RestoreStateOf(existing);
                    StopRunner(existing);
                    if (!existing.SameDefinitionAs(check))
                    {
                        changedChecks.Add(check);
                    }
                }
                else
                {
                    check.Status = definition.Checks[position].Status is { Length: > 0 } status ? status : CheckStatus.Critical;
                    check.CriticalSince = check.Status == CheckStatus.Critical ? _time.GetTimestamp() : null;
                    changedChecks.Add(check);
                }

                _checks[check.Id] = check;
            }

            var removedChecks = replaceExistingChecks
                ? ChecksOf(definition.Id).Where(c => !sentIds.Contains(c.Id)).ToList()
                : [];
            foreach (var check in removedChecks)
            {
                StopRunner(check);
                _checks.Remove(check.Id);
            }

            _services[service.Id] = service;
            foreach (var check in ChecksOf(service.Id).Where(c => sentIds.Contains(c.Id)))
            {
                StartRunner(check);
            }

            if (serviceChanged || changedChecks.Count > 0 || removedChecks.Count > 0)
            {
                var index = ++_index;
                if (serviceChanged)
                {
                    service.ModifyIndex = index;
                    service.CreateIndex = previous?.CreateIndex ?? index;
                    _servicesIndex = index;
                }

                foreach (var check in changedChecks)
                {
                    check.ModifyIndex = index;
                    check.CreateIndex = check.CreateIndex == 0 ? index : check.CreateIndex;
                }

                _serviceIndexes[service.Name] = index;
                if (previous is not null && previous.Name != service.Name)
                {
                    NameChanged(previous.Name, index);
                }

                logger.LogInformation(
                    "Registered service {ServiceId} ({ServiceName}) at {Address}:{Port} with checks {CheckIds}, index {Index}",
                    service.Id, service.Name, definition.Address, definition.Port, string.Join(", ", ChecksOf(service.Id).Select(c => c.Id)), index);
            }

            Signal();
        }
    }

    /// <summary>Removes a service and all its checks; false when no service has this ID.</summary>
    public bool Deregister(string serviceId, string reason)
    {
        lock (_gate)
        {
            return DeregisterLocked(serviceId, reason);
        }
    }

    /// <summary>
    /// Sets a TTL check's status and output and restarts its timer (<c>/v1/agent/check/pass|warn|fail|update</c>).
    /// Unknown check: 404; a check that is not a TTL check: 500; both with Consul's text.
    /// </summary>
    public void UpdateTtl(string checkId, string status, string output)
    {
        lock (_gate)
        {
            if (!_checks.TryGetValue(checkId, out var check))
            {
                throw new ConsulApiException(404, $"Unknown check ID \"{checkId}\". Ensure that the check ID is passed, not the check name.");
            }

            if (check.Definition.Ttl is null)
            {
                throw new ConsulApiException(500, $"CheckID \"{checkId}\" does not have associated TTL");
            }

            UpdateTtlLocked(check, status, output);
        }
    }

    /// <summary>Sets any check's status from a test, as if its probe or its service had reported it.</summary>
    public bool SetCheckStatus(string checkId, string status, string output)
    {
        lock (_gate)
        {
            if (!_checks.TryGetValue(checkId, out var check))
            {
                return false;
            }

            if (check.Definition.Ttl is not null)
            {
                UpdateTtlLocked(check, status, output);
            }
            else
            {
                SetResult(check, status, output);
            }

            return true;
        }
    }

    /// <summary>Lowers the index (as a restarted Consul's is) and releases every blocked query.</summary>
    public void ResetIndex(ulong index)
    {
        index = Math.Max(1, index);
        lock (_gate)
        {
            _index = index;
            _servicesIndex = Math.Min(_servicesIndex, index);
            _extinctionIndex = Math.Min(_extinctionIndex, index);
            foreach (var name in _serviceIndexes.Keys.ToList())
            {
                _serviceIndexes[name] = Math.Min(_serviceIndexes[name], index);
            }

            foreach (var service in _services.Values)
            {
                service.CreateIndex = Math.Min(service.CreateIndex, index);
                service.ModifyIndex = Math.Min(service.ModifyIndex, index);
            }

            foreach (var check in _checks.Values)
            {
                check.CreateIndex = Math.Min(check.CreateIndex, index);
                check.ModifyIndex = Math.Min(check.ModifyIndex, index);
            }

            logger.LogInformation("Index reset to {Index}", index);
            var reset = _indexReset;
            _indexReset = NewSignal();
            reset.TrySetResult();
            Signal();
        }
    }

    /// <summary>Starts the TTL timers and HTTP probes (when the stand-in comes up).</summary>
    public void StartRunners()
    {
        lock (_gate)
        {
            _running = true;
            foreach (var check in _checks.Values)
            {
                StartRunner(check);
            }
        }
    }

    /// <summary>Stops the TTL timers and HTTP probes (when the stand-in goes down), and waits for the probes to end.</summary>
    public async Task StopRunnersAsync()
    {
        Task[] loops;
        lock (_gate)
        {
            _running = false;
            foreach (var check in _checks.Values)
            {
                StopRunner(check);
            }

            loops = [.. _probeLoops];
            _probeLoops.Clear();
        }

        await Task.WhenAll(loops);
    }

    /// <summary>
    /// Removes the services that have a check critical for longer than its
    /// <c>DeregisterCriticalServiceAfter</c> (Consul's reaper, <c>reapServicesInternal</c>).
    /// </summary>
    public void Reap()
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            var expired = _checks.Values
                .Where(c => c.DeregisterCriticalServiceAfter is { } after && c.CriticalSince is { } since && _time.GetElapsedTime(since, now) > after)
                .ToList();
            foreach (var check in expired.Where(c => _services.ContainsKey(c.ServiceId)))
            {
                DeregisterLocked(check.ServiceId, $"check {check.Id} has been critical for longer than {GoDuration.Format(check.DeregisterCriticalServiceAfter!.Value)}");
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var check in _checks.Values)
            {
                StopRunner(check);
            }
        }

        _clients.Following.Dispose();
        _clients.NotFollowing.Dispose();
    }

    private bool DeregisterLocked(string serviceId, string reason)
    {
        if (!_services.Remove(serviceId, out var service))
        {
            return false;
        }

        foreach (var check in ChecksOf(serviceId).ToList())
        {
            StopRunner(check);
            _checks.Remove(check.Id);
        }

        var index = ++_index;
        _servicesIndex = index;
        NameChanged(service.Name, index);
        logger.LogInformation("Deregistered service {ServiceId} ({ServiceName}): {Reason}, index {Index}", serviceId, service.Name, reason, index);
        Signal();
        return true;
    }

    private void UpdateTtlLocked(CheckEntry check, string status, string output)
    {
        var ttl = check.Definition.Ttl!.Value;
        output = output.Length > HttpCheck.OutputMaxSize ? output[..HttpCheck.OutputMaxSize] : output;
        check.TtlOutput = output;
        check.TtlDeadline = Deadline(ttl);
        check.TtlTimer?.Change(ttl, Timeout.InfiniteTimeSpan);
        SetResult(check, status, output);
    }

    private long Deadline(TimeSpan after) => _time.GetTimestamp() + (long)(after.TotalSeconds * _time.TimestampFrequency);

    private CheckEntry NewCheck(ServiceDefinition service, int position)
    {
        var definition = service.Checks[position];
        var interval = definition.Interval is { } asked ? Max(asked, options.MinimumCheckInterval) : (TimeSpan?)null;
        if (interval > definition.Interval)
        {
            logger.LogWarning("Check {CheckId}: interval {Interval} raised to {Minimum}", service.CheckIdOf(position), definition.Interval, interval);
        }

        var deregisterAfter = definition.DeregisterCriticalServiceAfter is { } after
            ? Max(after, options.MinimumDeregisterCriticalServiceAfter)
            : (TimeSpan?)null;
        var timeout = definition.Type == "http" ? definition.Timeout ?? DefaultHttpTimeout : definition.Timeout;
        return new CheckEntry(service.CheckIdOf(position), service.CheckNameOf(position), service.Id, service.Name, definition, interval, timeout, deregisterAfter);
    }

    private IEnumerable<CheckEntry> ChecksOf(string serviceId) =>
        _checks.Values.Where(c => c.ServiceId == serviceId).OrderBy(c => c.Id, StringComparer.Ordinal);

    /// <summary>Records a new status and output; only a status change moves the index.</summary>
    private void SetResult(CheckEntry check, string status, string output)
    {
        check.Output = output;
        if (check.Status != status)
        {
            logger.LogInformation("Check {CheckId} of {ServiceId} is now {Status}: {Output}", check.Id, check.ServiceId, status, output);
            check.Status = status;
            check.CriticalSince = status == CheckStatus.Critical ? _time.GetTimestamp() : null;
            var index = ++_index;
            check.ModifyIndex = index;
            _serviceIndexes[check.ServiceName] = index;
        }

        Signal();
    }

    private void NameChanged(string serviceName, ulong index)
    {
        if (_services.Values.Any(s => s.Name == serviceName))
        {
            _serviceIndexes[serviceName] = index;
        }
        else
        {
            _serviceIndexes.Remove(serviceName);
            _extinctionIndex = index;
        }
    }

    private void StartRunner(CheckEntry check)
    {
        if (!_running || check.TtlTimer is not null || check.ProbeStop is not null)
        {
            return;
        }

        if (check.Definition.Ttl is { } ttl)
        {
            check.TtlDeadline = Deadline(ttl);
            check.TtlTimer = _time.CreateTimer(_ => ExpireTtl(check), null, ttl, Timeout.InfiniteTimeSpan);
        }
        else if (check.Definition.Http is not null)
        {
            var stop = new CancellationTokenSource();
            check.ProbeStop = stop;
            var interval = check.Interval!.Value;
            var firstDelay = options.StaggerFirstHttpProbe ? interval * Random.Shared.NextDouble() : TimeSpan.Zero;
            var client = check.Definition.DisableRedirects ? _clients.NotFollowing : _clients.Following;
            _probeLoops.RemoveAll(loop => loop.IsCompleted);
            _probeLoops.Add(Task.Run(() => ProbeLoopAsync(check, client, firstDelay, stop.Token)));
        }
    }

    private async Task ProbeLoopAsync(CheckEntry check, HttpClient client, TimeSpan firstDelay, CancellationToken stop)
    {
        try
        {
            await Task.Delay(firstDelay, _time, stop);
            while (true)
            {
                var (status, output) = await HttpCheck.ProbeAsync(client, check.Definition, check.Timeout!.Value, stop);
                lock (_gate)
                {
                    if (stop.IsCancellationRequested || !_checks.TryGetValue(check.Id, out var current) || current != check)
                    {
                        return;
                    }

                    SetResult(check, status, output);
                }

                await Task.Delay(check.Interval!.Value, _time, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private void ExpireTtl(CheckEntry check)
    {
        lock (_gate)
        {
            if (check.TtlTimer is null || !_checks.TryGetValue(check.Id, out var current) || current != check)
            {
                return;
            }

            var remaining = _time.GetElapsedTime(_time.GetTimestamp(), check.TtlDeadline);
            if (remaining > TimeSpan.Zero)
            {
                // The timer fired as a pass moved the deadline: wait for the new one.
                check.TtlTimer.Change(remaining, Timeout.InfiniteTimeSpan);
                return;
            }

            logger.LogWarning("Check {CheckId} missed its TTL, is now critical", check.Id);
            SetResult(check, CheckStatus.Critical, check.TtlOutput.Length == 0
                ? "TTL expired"
                : $"TTL expired (last output before timeout follows): {check.TtlOutput}");
        }
    }

    private static void StopRunner(CheckEntry check)
    {
        check.TtlTimer?.Dispose();
        check.TtlTimer = null;
        check.ProbeStop?.Cancel();
        check.ProbeStop?.Dispose();
        check.ProbeStop = null;
    }

    private void Signal()
    {
        var changed = _changed;
        _changed = NewSignal();
        changed.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}

/// <summary>The state at one moment, for the HTTP API's reads and the tests' observations.</summary>
internal sealed record AgentView(
    ConsulRegistry Registry,
    ulong ServicesIndex,
    IReadOnlyDictionary<string, ulong> ServiceIndexes,
    ulong ExtinctionIndex,
    Task Changed)
{
    /// <summary>The index of the health of one service name (never 0).</summary>
    public ulong IndexOf(string serviceName) => Math.Max(1, ServiceIndexes.GetValueOrDefault(serviceName, ExtinctionIndex));
}

/// <summary>A registered service instance: its definition and indexes.</summary>
internal sealed class ServiceEntry(ServiceDefinition definition)
{
    public ServiceDefinition Definition { get; } = definition;
    public string Id => Definition.Id;
    public string Name => Definition.Name;
    public ulong CreateIndex { get; set; }
    public ulong ModifyIndex { get; set; }

    public bool SameDefinitionAs(ServiceEntry other) =>
        Name == other.Name && Definition.Address == other.Definition.Address && Definition.Port == other.Definition.Port
        && Definition.EnableTagOverride == other.Definition.EnableTagOverride
        && Definition.Tags.SequenceEqual(other.Definition.Tags)
        && Definition.Meta.Count == other.Definition.Meta.Count
        && Definition.Meta.All(pair => other.Definition.Meta.TryGetValue(pair.Key, out var value) && value == pair.Value);

    public RegisteredService Snapshot(IReadOnlyList<RegisteredCheck> checks) => new(
        Id, Name, Definition.Address, Definition.Port, Definition.Tags, Definition.Meta, Definition.EnableTagOverride,
        checks, CreateIndex, ModifyIndex);
}

/// <summary>A registered check: its definition, its current result, and what runs it.</summary>
internal sealed class CheckEntry(
    string id,
    string name,
    string serviceId,
    string serviceName,
    CheckDefinition definition,
    TimeSpan? interval,
    TimeSpan? timeout,
    TimeSpan? deregisterCriticalServiceAfter)
{
    public string Id { get; } = id;
    public string Name { get; } = name;
    public string ServiceId { get; } = serviceId;
    public string ServiceName { get; } = serviceName;
    public CheckDefinition Definition { get; } = definition;
    public TimeSpan? Interval { get; } = interval;
    public TimeSpan? Timeout { get; } = timeout;
    public TimeSpan? DeregisterCriticalServiceAfter { get; } = deregisterCriticalServiceAfter;

    public string Status { get; set; } = CheckStatus.Critical;
    public string Output { get; set; } = "";

    /// <summary>Since when (a <see cref="TimeProvider"/> timestamp) the check is critical; null when it is not.</summary>
    public long? CriticalSince { get; set; }

    public ulong CreateIndex { get; set; }
    public ulong ModifyIndex { get; set; }

    /// <summary>The output of the last pass/warn/fail/update, quoted when the TTL expires.</summary>
    public string TtlOutput { get; set; } = "";

    public long TtlDeadline { get; set; }
    public ITimer? TtlTimer { get; set; }
    public CancellationTokenSource? ProbeStop { get; set; }

    public void RestoreStateOf(CheckEntry previous)
    {
        Status = previous.Status;
        Output = previous.Output;
        CriticalSince = previous.CriticalSince;
        TtlOutput = previous.TtlOutput;
        CreateIndex = previous.CreateIndex;
        ModifyIndex = previous.ModifyIndex;
    }

    public bool SameDefinitionAs(CheckEntry other) =>
        Name == other.Name && ServiceId == other.ServiceId && ServiceName == other.ServiceName
        && Definition.Type == other.Definition.Type && Definition.Notes == other.Definition.Notes
        && Definition.Http == other.Definition.Http && Definition.Ttl == other.Definition.Ttl
        && Interval == other.Interval && Timeout == other.Timeout
        && DeregisterCriticalServiceAfter == other.DeregisterCriticalServiceAfter;

    public RegisteredCheck Snapshot() => new(
        Id, Name, ServiceId, ServiceName, Definition.Type, Status, Output, Definition.Notes, Definition.Http,
        Definition.Ttl, Interval, Timeout, DeregisterCriticalServiceAfter, CreateIndex, ModifyIndex);
}
