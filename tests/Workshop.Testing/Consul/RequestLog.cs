namespace Workshop.Testing.Consul;

/// <summary>The requests the stand-in received, in order, and a signal at each new one.</summary>
internal sealed class RequestLog
{
    private readonly Lock _gate = new();
    private readonly List<ConsulRequest> _requests = [];
    private TaskCompletionSource _added = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Add(ConsulRequest request)
    {
        lock (_gate)
        {
            _requests.Add(request);
            var added = _added;
            _added = new(TaskCreationOptions.RunContinuationsAsynchronously);
            added.TrySetResult();
        }
    }

    /// <summary>The requests so far, and a task that completes at the next one.</summary>
    public (IReadOnlyList<ConsulRequest> Requests, Task Added) Snapshot()
    {
        lock (_gate)
        {
            return ([.. _requests], _added.Task);
        }
    }
}
