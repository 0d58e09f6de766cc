using System.Diagnostics;
using System.Globalization;
using System.Text;
using Workshop.Commands;

namespace Workshop.Load;

/// <summary>What <c>workshop load</c> sends: how fast, for how long at most, how many at most, in what mix.</summary>
public sealed record LoadPlan(int Rate, TimeSpan Duration, int? Count, Mix Mix)
{
    public static LoadPlan Default { get; } = new(20, TimeSpan.FromSeconds(60), null, new Mix(6, 3, 1));

    public string Describe() =>
        $"{Rate} requests/s for at most {Duration.TotalSeconds:0} s{(Count is { } count ? $" or {count} requests" : "")}, " +
        $"mix reads {Mix.Reads} : writes {Mix.Writes} : aggregations {Mix.Aggregations}";
}

/// <summary>The share of each kind of request, as weights (6:3:1 is six reads, three writes and one aggregation in ten).</summary>
public sealed record Mix(int Reads, int Writes, int Aggregations)
{
    /// <summary>
    /// The kind of each request in turn, spread evenly (smooth weighted round-robin): 6:3:1 sends
    /// read, write, read, read, write, read, aggregation, ... rather than six reads in a row.
    /// </summary>
    public IEnumerable<Kind> Sequence()
    {
        var weights = new[] { (Kind.Read, Reads), (Kind.Write, Writes), (Kind.Aggregation, Aggregations) };
        var total = Reads + Writes + Aggregations;
        var current = new int[weights.Length];
        while (true)
        {
            var best = 0;
            for (var i = 0; i < weights.Length; i++)
            {
                current[i] += weights[i].Item2;
                best = current[i] > current[best] ? i : best;
            }

            current[best] -= total;
            yield return weights[best].Item1;
        }
    }
}

/// <summary>A kind of request: what it asks the gateway for.</summary>
public sealed record Kind(string Name)
{
    public static readonly Kind Read = new("read");
    public static readonly Kind Write = new("write");
    public static readonly Kind Aggregation = new("aggregation");
    public static readonly IReadOnlyList<Kind> All = [Read, Write, Aggregation];
}

/// <summary>A user the load created, and their account.</summary>
public sealed record Target(int UserId, int AccountId);

/// <summary>What came back for one kind: how many were sent and failed, each answer's latency, the failures by reason.</summary>
public sealed class KindResult
{
    public int Sent { get; set; }
    public int Failed { get; set; }
    public List<double> Latencies { get; } = [];
    public Dictionary<string, int> Failures { get; } = [];

    /// <summary>Overviews answered without their accounts, by the reason the gateway gave.</summary>
    public Dictionary<string, int> Partial { get; } = [];
}

/// <param name="Sending">From the first request due to one interval after the last one sent: the time the requests went out over.</param>
public sealed record TrafficResult(IReadOnlyDictionary<Kind, KindResult> Kinds, TimeSpan Sending, bool Interrupted);

/// <summary>
/// Sends the plan's requests as an open model: request i is due at start + i / rate, and goes out then
/// whatever the answers before it, so a slow service shows as latency (measured from the moment the
/// request was due), not as a lower rate. Says each second how the last second went.
/// </summary>
public sealed class Traffic(HttpClient http, LoadPlan plan, IReadOnlyList<Target> targets, decimal deposit)
{
    private readonly object _gate = new();
    private readonly Dictionary<Kind, KindResult> _kinds = Kind.All.ToDictionary(k => k, _ => new KindResult());
    private readonly List<double> _window = [];
    private int _windowFailed;
    private int _sent;
    private string _lastLive = "";

    public async Task<TrafficResult> RunAsync(CancellationToken stop)
    {
        var clock = Stopwatch.StartNew();
        var inFlight = new List<Task>();
        using var ticker = new CancellationTokenSource();
        var live = LiveAsync(clock, ticker.Token);
        using var kinds = plan.Mix.Sequence().GetEnumerator();
        var index = 0;
        var lastSent = TimeSpan.Zero;
        try
        {
            while (!stop.IsCancellationRequested && (plan.Count is not { } count || index < count))
            {
                var due = TimeSpan.FromSeconds(index / (double)plan.Rate);
                if (due >= plan.Duration)
                {
                    break;
                }

                var wait = due - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, stop);
                }

                kinds.MoveNext();
                inFlight.Add(SendAsync(kinds.Current, clock, due));
                lastSent = clock.Elapsed;
                index++;
                if (inFlight.Count > 4096)
                {
                    inFlight.RemoveAll(t => t.IsCompleted);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }

        // Every request sent gets its answer, or its timeout.
        var sending = index == 0 ? TimeSpan.Zero : lastSent + TimeSpan.FromSeconds(1.0 / plan.Rate);
        await Task.WhenAll(inFlight);
        await ticker.CancelAsync();
        await live;
        EndLive();
        return new TrafficResult(_kinds, sending, stop.IsCancellationRequested);
    }

    private async Task SendAsync(Kind kind, Stopwatch clock, TimeSpan due)
    {
        int n;
        lock (_gate)
        {
            n = _kinds[kind].Sent++;
            _sent++;
        }

        string? failure = null;
        string? partial = null;
        try
        {
            using var request = Request(kind, n);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead);
            if (!response.IsSuccessStatusCode)
            {
                failure = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
            }
            else if (kind == Kind.Aggregation && response.Headers.TryGetValues("X-Accounts-Unavailable", out var why))
            {
                partial = string.Join(",", why);
            }
        }
        catch (TaskCanceledException)
        {
            failure = "timeout";
        }
        catch (HttpRequestException e)
        {
            failure = e.HttpRequestError == HttpRequestError.ConnectionError ? "no connection" : "broken answer";
        }

        var latency = (clock.Elapsed - due).TotalMilliseconds;
        lock (_gate)
        {
            var result = _kinds[kind];
            result.Latencies.Add(latency);
            _window.Add(latency);
            if (failure is not null)
            {
                result.Failed++;
                result.Failures[failure] = result.Failures.GetValueOrDefault(failure) + 1;
                _windowFailed++;
            }

            if (partial is not null)
            {
                result.Partial[partial] = result.Partial.GetValueOrDefault(partial) + 1;
            }
        }
    }

    /// <summary>
    /// The n-th request of its kind, on the users and accounts in turn. Reads take turns between a user
    /// and an account.
    /// </summary>
    private HttpRequestMessage Request(Kind kind, int n)
    {
        var target = targets[(kind == Kind.Read ? n / 2 : n) % targets.Count];
        if (kind == Kind.Write)
        {
            return new HttpRequestMessage(HttpMethod.Post, $"api/accounts/{target.AccountId}/deposit")
            {
                Content = new StringContent($"{{\"amount\":{deposit.ToString(CultureInfo.InvariantCulture)}}}", Encoding.UTF8, "application/json"),
            };
        }

        return new HttpRequestMessage(HttpMethod.Get, kind == Kind.Aggregation
            ? $"api/overview/{target.UserId}"
            : n % 2 == 0 ? $"api/users/{target.UserId}" : $"api/accounts/{target.AccountId}");
    }

    /// <summary>Each second: the answers of the last second, their failures and latency, and the total sent.</summary>
    private async Task LiveAsync(Stopwatch clock, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                List<double> window;
                int failed, sent;
                lock (_gate)
                {
                    window = [.. _window];
                    failed = _windowFailed;
                    sent = _sent;
                    _window.Clear();
                    _windowFailed = 0;
                }

                window.Sort();
                ShowLive($"{clock.Elapsed.TotalSeconds,5:0} s  {window.Count,5} answered/s  failed {failed} ({LoadCommand.Percent(failed, window.Count)})  " +
                    $"p50 {LoadCommand.Ms(LoadCommand.Percentile(window, 0.50))} ms  p99 {LoadCommand.Ms(LoadCommand.Percentile(window, 0.99))} ms  sent {sent}");
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>On a terminal, one line rewritten in place; piped, a line each second.</summary>
    private void ShowLive(string line)
    {
        if (Console.IsOutputRedirected)
        {
            Ui.Line(line);
            return;
        }

        Console.Write("\r" + line.PadRight(_lastLive.Length));
        _lastLive = line;
    }

    private void EndLive()
    {
        if (!Console.IsOutputRedirected && _lastLive.Length > 0)
        {
            Console.WriteLine();
        }
    }
}
