using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Workshop.Load;
using Workshop.Steps;

namespace Workshop.Commands;

/// <summary>
/// Steady traffic through the gateway of a running step, so that breakers, dashboards and traces have
/// something to show: reads (a user, an account), writes (a deposit of 1.00) and aggregations (the
/// gateway's overview) at a chosen rate and mix, on users and accounts it creates first. A line each
/// second says how it goes; the report at the end counts every answer by kind, and checks the deposits
/// that went through against the balances accounts keeps.
/// </summary>
public static class LoadCommand
{
    public const string Form = "load NN [rate PER_SECOND] [for SECONDS] [count REQUESTS] [mix READS:WRITES:AGGREGATIONS]";

    /// <summary>The workshop's development-only API key, as the gateway's appsettings.Development.json and the compose files set it.</summary>
    public const string DevApiKey = "workshop-dev-key";

    private const int MaxRate = 2_000;
    private const int MaxSeconds = 3_600;
    private const int MaxCount = 1_000_000;
    private const int Users = 3;
    private const decimal OpeningBalance = 100m;
    private const decimal Deposit = 1.00m;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task<int> RunAsync(Step step, IReadOnlyList<Step> steps, string[] words)
    {
        var plan = Parse(words);
        var (apps, _) = StepServices.Load(step, StepVariables.Read(step));
        var gateway = apps.SingleOrDefault(a => a.Name == "gateway");
        if (gateway is null)
        {
            var first = steps.FirstOrDefault(s => StepServices.Load(s).Apps.Any(a => a.Name == "gateway"));
            throw new UserError($"{step.Folder} has no gateway to send load through: it comes with {first?.Folder ?? "a later step"}" +
                (first is null ? "" : $" (`{Ui.Command} load {first.Folder[..2]}`)"));
        }

        var notRunning = $"no gateway of {step.Folder} answers on port {gateway.Port}: start the step first with `{Ui.Command} up {step.Folder[..2]}` or `docker compose up` in {step.Folder}";
        if (Ports.IsFree(gateway.Port))
        {
            throw new UserError(notRunning);
        }

        using var http = new HttpClient(new SocketsHttpHandler
        {
            // Up to 512 requests at once: one waits for a connection only when the answers take longer
            // than 512 / rate seconds, and its latency (counted from when it was due) shows the wait.
            MaxConnectionsPerServer = 512,
            UseProxy = false,
        })
        {
            BaseAddress = new Uri(gateway.Url + "/"),
            Timeout = TimeSpan.FromSeconds(10),
        };
        http.DefaultRequestHeaders.Add("X-Api-Key", DevApiKey);

        Ui.Line($"Load on {step.Folder} through the gateway at {gateway.Url}: {plan.Describe()}. Ctrl-C ends it early.");
        var targets = await PrepareAsync(http, notRunning, step);
        Ui.Line($"Prepared {Users} users with one account each (users {Ids(targets.Select(t => t.UserId))}; accounts {Ids(targets.Select(t => t.AccountId))}), opened with {Money(OpeningBalance)}.");

        using var stop = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            var traffic = new Traffic(http, plan, targets, Deposit);
            var run = await traffic.RunAsync(stop.Token);
            var balances = await ReadBalancesAsync(http, targets);
            Report(run, balances, targets.Count);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }

        return 0;
    }

    /// <summary>Users and their accounts to load, created afresh (their emails carry the time, so a second run never collides).</summary>
    private static async Task<IReadOnlyList<Target>> PrepareAsync(HttpClient http, string notRunning, Step step)
    {
        var tag = DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "-" + Random.Shared.Next(1000, 10000).ToString(CultureInfo.InvariantCulture);
        var targets = new List<Target>();
        for (var i = 1; i <= Users; i++)
        {
            var user = await CreateAsync<Created>(http, "api/users", new { name = $"Load {i}", email = $"load-{tag}-{i}@example.com" }, notRunning, step);
            var account = await CreateAsync<Created>(http, "api/accounts", new { userId = user.Id, initialBalance = OpeningBalance }, notRunning, step);
            targets.Add(new Target(user.Id, account.Id));
        }

        return targets;
    }

    /// <summary>
    /// A POST of the preparation, tried a few times: with a fault switch on, some fail by design, and
    /// the load should still start. Each failure is one request that says why.
    /// </summary>
    private static async Task<T> CreateAsync<T>(HttpClient http, string path, object body, string notRunning, Step step)
    {
        const int attempts = 20;
        var why = "";
        for (var attempt = 1; attempt <= attempts; attempt++)
        {
            try
            {
                using var response = await http.PostAsJsonAsync(path, body, Json);
                if (response.IsSuccessStatusCode)
                {
                    return (await response.Content.ReadFromJsonAsync<T>(Json))!;
                }

                if (response.StatusCode == System.Net.HttpStatusCode.Unauthorized)
                {
                    throw new UserError($"the gateway refused the workshop's API key ({DevApiKey}): is it run with the Development settings or the step's compose file?");
                }

                why = $"{(int)response.StatusCode} {Problem(await response.Content.ReadAsStringAsync())}";
            }
            catch (HttpRequestException e) when (e.HttpRequestError == HttpRequestError.ConnectionError)
            {
                throw new UserError(notRunning);
            }
            catch (TaskCanceledException)
            {
                why = $"no answer within {http.Timeout.TotalSeconds:0} s";
            }

            await Task.Delay(TimeSpan.FromMilliseconds(150));
        }

        throw new UserError($"could not prepare the load: POST /{path} failed {attempts} times, the last with {why}" +
            (ChaosCommand.HasFaultSwitch(step) ? $" (a fault switch on? `{Ui.Command} chaos {step.Folder[..2]} off`)" : ""));
    }

    /// <summary>The sum of the accounts' balances after the run; null when accounts did not say one of them.</summary>
    private static async Task<decimal?> ReadBalancesAsync(HttpClient http, IReadOnlyList<Target> targets)
    {
        var total = 0m;
        foreach (var target in targets)
        {
            decimal? balance = null;
            for (var attempt = 0; attempt < 8 && balance is null; attempt++)
            {
                try
                {
                    using var response = await http.GetAsync($"api/accounts/{target.AccountId}");
                    balance = response.IsSuccessStatusCode ? (await response.Content.ReadFromJsonAsync<AccountBalance>(Json))?.Balance : null;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
                {
                }

                if (balance is null)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(150));
                }
            }

            if (balance is null)
            {
                return null;
            }

            total += balance.Value;
        }

        return total;
    }

    private static void Report(TrafficResult run, decimal? balances, int accounts)
    {
        var failed = run.Kinds.Values.Sum(k => k.Failed);
        var sent = run.Kinds.Values.Sum(k => k.Sent);
        Ui.Line();
        Ui.Line($"Sent {sent} requests in {Seconds(run.Sending)} s ({Rate(sent, run.Sending)}/s){(run.Interrupted ? ", stopped by Ctrl-C" : "")}: " +
            $"{sent - failed} answered 2xx, {failed} failed ({Percent(failed, sent)}).");
        Ui.Line($"  {"kind",-12} {"sent",7} {"2xx",7} {"failed",7} {"p50 ms",8} {"p99 ms",8} {"max ms",8}");
        foreach (var kind in Kind.All)
        {
            var k = run.Kinds[kind];
            var sorted = k.Latencies.Order().ToList();
            Ui.Line($"  {kind.Name,-12} {k.Sent,7} {k.Sent - k.Failed,7} {k.Failed,7} {Ms(Percentile(sorted, 0.50)),8} {Ms(Percentile(sorted, 0.99)),8} {Ms(sorted.Count == 0 ? null : sorted[^1]),8}");
        }

        Ui.Line("  (latency of every answer, failures included, from the moment its request was due)");
        if (failed > 0)
        {
            Ui.Line($"Failures by answer: {Counted(run.Kinds.Values.SelectMany(k => k.Failures))}");
        }

        var partial = run.Kinds[Kind.Aggregation].Partial;
        if (partial.Count > 0)
        {
            Ui.Line($"Overviews answered without their accounts: {partial.Values.Sum()} ({Counted(partial)}): the gateway's X-Accounts-Unavailable header says why");
        }

        var deposits = run.Kinds[Kind.Write].Sent - run.Kinds[Kind.Write].Failed;
        var expected = OpeningBalance * accounts + Deposit * deposits;
        if (balances is null)
        {
            Ui.Warn($"Deposits: {deposits} answered 2xx; accounts did not say the balances afterwards, so they are not checked.");
        }
        else if (balances == expected)
        {
            Ui.Ok($"Deposits: {deposits} answered 2xx, and accounts counted as many: the balances grew by {Money(balances.Value - OpeningBalance * accounts)}.");
        }
        else
        {
            Ui.Warn($"Deposits: {deposits} answered 2xx, but the balances grew by {Money(balances.Value - OpeningBalance * accounts)}: " +
                "a deposit whose answer was lost (a timeout) can still have been made.");
        }
    }

    private static string Counted(IEnumerable<KeyValuePair<string, int>> counts) => string.Join(", ", counts
        .GroupBy(c => c.Key, c => c.Value)
        .Select(g => (Name: g.Key, Count: g.Sum()))
        .OrderByDescending(c => c.Count)
        .ThenBy(c => c.Name, StringComparer.Ordinal)
        .Select(c => $"{c.Name} x{c.Count}"));

    internal static double? Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? null : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    internal static string Ms(double? ms) => ms is null ? "-" : ms.Value.ToString(ms.Value < 10 ? "0.0" : "0", CultureInfo.InvariantCulture);

    internal static string Percent(int part, int whole) => whole == 0 ? "0%" : (100.0 * part / whole).ToString("0.#", CultureInfo.InvariantCulture) + "%";

    internal static string Rate(int count, TimeSpan elapsed) => elapsed <= TimeSpan.Zero ? "0" : (count / elapsed.TotalSeconds).ToString("0.0", CultureInfo.InvariantCulture);

    private static string Seconds(TimeSpan elapsed) => elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture);

    private static string Money(decimal amount) => amount.ToString("0.00", CultureInfo.InvariantCulture);

    private static string Ids(IEnumerable<int> ids) => string.Join(", ", ids);

    /// <summary>A ProblemDetails answer by its title; any other body, shortened.</summary>
    private static string Problem(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("title", out var title) && title.ValueKind == JsonValueKind.String)
            {
                return title.GetString()!;
            }
        }
        catch (JsonException)
        {
        }

        return body.Length <= 80 ? body : body[..80] + "...";
    }

    /// <summary>rate N, for S, count N and mix R:W:A, in any order; each has a default.</summary>
    private static LoadPlan Parse(string[] words)
    {
        var plan = LoadPlan.Default;
        for (var i = 0; i < words.Length; i++)
        {
            string Value() => i + 1 < words.Length ? words[++i] : throw new UserError($"'{words[i]}' needs a value: {Ui.Command} {Form}");
            int Whole(string name, int max, string example)
            {
                var text = Value();
                return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 && n <= max
                    ? n
                    : throw new UserError($"{name} '{text}': {example}, a whole number from 1 to {max}");
            }

            plan = words[i] switch
            {
                "rate" => plan with { Rate = Whole("rate", MaxRate, "requests per second, e.g. 20") },
                "for" => plan with { Duration = TimeSpan.FromSeconds(Whole("for", MaxSeconds, "how many seconds it runs at most, e.g. 60")) },
                "count" => plan with { Count = Whole("count", MaxCount, "how many requests it sends at most, e.g. 500") },
                "mix" => plan with { Mix = ParseMix(Value()) },
                _ => throw new UserError($"unknown word '{words[i]}' for load: {Ui.Command} {Form}"),
            };
        }

        return plan;
    }

    private static Mix ParseMix(string text)
    {
        var parts = text.Split(':');
        var weights = parts.Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var w) && w <= 100 ? w : -1).ToArray();
        return parts.Length == 3 && weights.All(w => w >= 0) && weights.Sum() > 0
            ? new Mix(weights[0], weights[1], weights[2])
            : throw new UserError($"mix '{text}': reads:writes:aggregations, three whole numbers from 0 to 100, not all 0, e.g. 6:3:1");
    }

    private sealed record Created(int Id);

    private sealed record AccountBalance(decimal Balance);
}
