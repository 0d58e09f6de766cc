// Rolling restart of three accounts instances under steady load through users (step 04).
// Each instance in turn is stopped gracefully (SIGTERM), started again on its port, and waited for
// until Consul lists it as passing; meanwhile workers call GET /users/{id}, which asks accounts. Run
// twice in one go, side by side: with the drain delay the step ships (an instance deregisters, keeps
// answering 2 s, then stops) and without it (deregisters and stops at once), the baseline.
//
// Usage: dotnet run -c Release --project bench/RollingRestart -- [workers] [rounds]   (defaults: 8 2)
// Consul cannot run here: the Consul stand-in of the tests plays it, answering as Consul's API does.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Workshop.Testing;
using Workshop.Testing.Consul;

var workers = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 8;
var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
if (workers < 1 || rounds < 1)
{
    Console.Error.WriteLine("usage: RollingRestart [workers] [rounds]   (defaults: 8 2; both above 0)");
    return 2;
}

Console.WriteLine($"rolling restart of 3 accounts instances under load through users: {workers} workers, {rounds} round(s) of restarts per run");
var results = new List<(string Name, RunResult Result)>();
foreach (var (name, drain) in new[] { ("no drain (baseline)", "00:00:00"), ("drain 2 s (as shipped)", "00:00:02") })
{
    var result = await RollingRestartRun.RunAsync(drain, workers, rounds);
    results.Add((name, result));
}

Console.WriteLine();
Console.WriteLine($"{"run",-24} {"requests",9} {"non-2xx",8} {"failed %",9} {"seconds",8}   statuses");
foreach (var (name, r) in results)
{
    var statuses = string.Join(", ", r.ByStatus.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"));
    Console.WriteLine($"{name,-24} {r.Requests,9} {r.Failures,8} {100.0 * r.Failures / Math.Max(1, r.Requests),8:0.000}% {r.Seconds,8:0.0}   {statuses}");
}

return 0;

internal sealed record RunResult(int Requests, int Failures, double Seconds, IReadOnlyDictionary<string, int> ByStatus);

internal static class RollingRestartRun
{
    public static async Task<RunResult> RunAsync(string drainDelay, int workers, int rounds)
    {
        using var data = new TempDirectory();
        await using var consul = await ConsulStandIn.StartAsync();
        var common = new Dictionary<string, string>
        {
            ["Consul__Address"] = consul.BaseAddress.ToString(),
            ["Consul__DrainDelay"] = drainDelay,
        };
        Dictionary<string, string> With(params (string Key, string Value)[] more)
        {
            var configuration = new Dictionary<string, string>(common);
            foreach (var (key, value) in more)
            {
                configuration[key] = value;
            }

            return configuration;
        }

        var accounts = new List<ServiceProcess>();
        ServiceProcess? users = null;
        try
        {
            for (var i = 0; i < 3; i++)
            {
                accounts.Add(await StartWarmAsync(With(("Database__Path", data.File("accounts.db")))));
            }

            await consul.WaitUntilAsync(r => r.Passing("accounts").Count == 3, TimeSpan.FromSeconds(30));
            users = await ServiceProcess.StartAsync("Users", With(
                ("Database__Path", data.File("users.db")), ("Services__accounts__http__0", accounts[0].BaseAddress.ToString())));

            using var created = await users.Client.PostAsync("/users", Json.Body("""{"name":"Ada Lovelace","email":"ada@example.com"}"""));
            var userId = (await Json.ReadAsync(created, HttpStatusCode.Created)).GetProperty("id").GetInt32();
            using var opened = await accounts[0].Client.PostAsync("/accounts", Json.Body($$"""{"userId":{{userId}},"initialBalance":100}"""));
            await Json.ReadAsync(opened, HttpStatusCode.Created);

            var counts = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
            using var stop = new CancellationTokenSource();
            var clock = Stopwatch.StartNew();
            var load = Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
            {
                using var client = new HttpClient { BaseAddress = users.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
                while (!stop.IsCancellationRequested)
                {
                    string outcome;
                    try
                    {
                        using var response = await client.GetAsync($"/users/{userId}");
                        outcome = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
                        if (!response.IsSuccessStatusCode)
                        {
                            // Why: users' detail says whether accounts could not be reached or did not answer in time.
                            var detail = (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("detail").GetString();
                            outcome += $" ({detail?.Split('.')[0]})";
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        outcome = e.GetType().Name;
                    }

                    counts.AddOrUpdate(outcome, 1, (_, n) => n + 1);
                }
            })).ToList();

            // Steady load first, then each instance in turn: stop, start on its port, wait until registered.
            await Task.Delay(TimeSpan.FromSeconds(2));
            for (var round = 0; round < rounds; round++)
            {
                for (var i = 0; i < accounts.Count; i++)
                {
                    var port = accounts[i].BaseAddress.Port;
                    await accounts[i].DisposeAsync();
                    var id = $"accounts-127.0.0.1-{port}";
                    await consul.WaitUntilAsync(r => r.Find(id) is null, TimeSpan.FromSeconds(30));
                    accounts[i] = await StartWarmAsync(With(("Database__Path", data.File("accounts.db"))), port);
                    await consul.WaitUntilAsync(r => r.Passing("accounts").Count == 3, TimeSpan.FromSeconds(30));
                    Console.WriteLine($"  drain {drainDelay}: round {round + 1}, instance {i + 1} restarted at {clock.Elapsed.TotalSeconds:0.0} s");
                }
            }

            await Task.Delay(TimeSpan.FromSeconds(2));
            await stop.CancelAsync();
            await Task.WhenAll(load);
            clock.Stop();

            if (Environment.GetEnvironmentVariable("BENCH_SHOW_LOG") is "1")
            {
                Console.WriteLine(string.Join('\n', users.Log.Where(l => !l.Contains("answered 200", StringComparison.Ordinal))));
                foreach (var instance in accounts)
                {
                    Console.WriteLine($"--- {instance.BaseAddress}");
                    Console.WriteLine(string.Join('\n', instance.Log.Take(40)));
                }
            }

            var requests = counts.Values.Sum();
            var failures = counts.Where(c => !c.Key.StartsWith('2')).Sum(c => c.Value);
            return new RunResult(requests, failures, clock.Elapsed.TotalSeconds, counts.ToDictionary());
        }
        finally
        {
            if (users is not null)
            {
                await users.DisposeAsync();
            }

            foreach (var instance in accounts)
            {
                await instance.DisposeAsync();
            }
        }
    }

    /// <summary>Starts an accounts instance and makes its first database query before the load meets it.</summary>
    private static async Task<ServiceProcess> StartWarmAsync(Dictionary<string, string> configuration, int port = 0)
    {
        var instance = await ServiceProcess.StartAsync("Accounts", configuration, port);
        using var warm = await instance.Client.GetAsync("/accounts?userId=1");
        return instance;
    }
}
