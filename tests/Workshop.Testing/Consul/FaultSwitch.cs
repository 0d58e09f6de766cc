namespace Workshop.Testing.Consul;

/// <summary>The fault in force, and a way for a hung request to wait until it is lifted.</summary>
internal sealed class FaultSwitch
{
    private readonly Lock _gate = new();
    private ConsulFault _current;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConsulFault Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
        set
        {
            lock (_gate)
            {
                _current = value;
                var changed = _changed;
                _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
                changed.TrySetResult();
            }
        }
    }

    /// <summary>Returns at once, unless the fault is <see cref="ConsulFault.Hang"/>: then when it is lifted.</summary>
    public async Task WaitWhileHangingAsync(CancellationToken cancellation)
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_current != ConsulFault.Hang)
                {
                    return;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(cancellation);
        }
    }
}
