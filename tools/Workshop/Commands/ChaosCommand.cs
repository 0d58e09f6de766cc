using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Workshop.Steps;

namespace Workshop.Commands;

/// <summary>
/// Flips the fault switch of step 07 and later (<c>PUT /admin/faults</c> on accounts) on every accounts
/// instance the step runs, or on one: makes a share of its requests fail, or each one slow, and turns
/// that off again. It says, per instance, what it changed. The instances are found on accounts' host
/// ports (8002, or the range compose publishes for --scale), each one that answers the switch.
/// </summary>
public static class ChaosCommand
{
    public const string Form = "chaos NN [fail RATE] [slow MS] [off] [--port PORT]";

    private const int MaxLatencyMs = 60_000;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private sealed record Switch(double FailureRate, int LatencyMs, long Requests, long InjectedFailures);

    private sealed record Change(double? FailureRate, int? LatencyMs);

    public static async Task<int> RunAsync(Step step, IReadOnlyList<Step> steps, string[] words)
    {
        var (change, onePort) = Parse(step, words);
        if (!HasFaultSwitch(step))
        {
            var first = steps.FirstOrDefault(HasFaultSwitch);
            throw new UserError($"{step.Folder} has no fault switch: it comes with {first?.Folder ?? "a later step"}" +
                (first is null ? "" : $" (`{Ui.Command} chaos {first.Folder[..2]} ...`)"));
        }

        var (apps, _) = StepServices.Load(step, StepVariables.Read(step));
        var accounts = apps.SingleOrDefault(a => a.Name == "accounts")
            ?? throw new UserError($"{step.Folder}/docker-compose.yml has no accounts service");
        var ports = onePort is { } port ? [port] : accounts.HostPort.All.ToList();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var instances = new List<(int Port, Switch State)>();
        foreach (var candidate in ports.Where(p => !Ports.IsFree(p)))
        {
            if (await ReadAsync(http, candidate) is { } state)
            {
                instances.Add((candidate, state));
            }
        }

        if (instances.Count == 0)
        {
            var where = ports.Count == 1 ? $"port {ports[0]}" : $"ports {ports[0]}-{ports[^1]}";
            throw new UserError($"no accounts instance of {step.Folder} answers on {where}: start the step first with `{Ui.Command} up {step.Folder[..2]}` or `docker compose up` in {step.Folder}");
        }

        if (change is null)
        {
            foreach (var (at, state) in instances)
            {
                Ui.Line($"accounts on port {at}: {Describe(state)}; {state.InjectedFailures} of {state.Requests} requests failed on purpose so far");
            }

            return 0;
        }

        var faulty = 0;
        foreach (var (at, before) in instances)
        {
            var wanted = new { failureRate = change.FailureRate ?? before.FailureRate, latencyMs = change.LatencyMs ?? before.LatencyMs };
            using var response = await http.PutAsJsonAsync($"http://localhost:{at}/admin/faults", wanted);
            if (!response.IsSuccessStatusCode)
            {
                throw new UserError($"accounts on port {at} refused the change ({(int)response.StatusCode}): {await response.Content.ReadAsStringAsync()}");
            }

            var after = (await response.Content.ReadFromJsonAsync<Switch>(Json))!;
            Ui.Ok($"accounts on port {at}: {Difference(before, after)}");
            faulty += after.FailureRate > 0 || after.LatencyMs > 0 ? 1 : 0;
        }

        Ui.Line(faulty > 0
            ? $"Faults on in {faulty} of {instances.Count} accounts instances: callers meet them through the gateway; `{Ui.Command} chaos {step.Folder[..2]} off` turns them off."
            : $"No faults: every accounts instance of {step.Folder} answers normally.");
        return 0;
    }

    /// <summary>Whether the step's accounts has the fault switch (step 07 and later).</summary>
    internal static bool HasFaultSwitch(Step step) => File.Exists(Path.Combine(step.Directory, "src", "Accounts", "Faults", "FaultSwitch.cs"));

    /// <summary>The instance's switch, or null when what answers on the port is not an accounts instance with one.</summary>
    private static async Task<Switch?> ReadAsync(HttpClient http, int port)
    {
        try
        {
            using var response = await http.GetAsync($"http://localhost:{port}/admin/faults");
            return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<Switch>(Json) : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or NotSupportedException)
        {
            return null;
        }
    }

    private static string Describe(Switch state) => state.FailureRate == 0 && state.LatencyMs == 0
        ? "no faults"
        : $"{Percent(state.FailureRate)} of requests fail, {state.LatencyMs} ms added to each";

    private static string Difference(Switch before, Switch after)
    {
        string Part(string name, string was, string now) => was == now ? $"{name} {now} (as before)" : $"{name} {was} -> {now}";
        return $"{Part("failure rate", Percent(before.FailureRate), Percent(after.FailureRate))}, {Part("latency", $"{before.LatencyMs} ms", $"{after.LatencyMs} ms")}";
    }

    private static string Percent(double rate) => (rate * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%";

    /// <summary>fail RATE, slow MS, off and --port PORT, in any order; nothing at all shows the switches.</summary>
    private static (Change? Change, int? Port) Parse(Step step, string[] words)
    {
        double? rate = null;
        int? latency = null;
        int? port = null;
        var off = false;
        for (var i = 0; i < words.Length; i++)
        {
            string Value() => i + 1 < words.Length ? words[++i] : throw new UserError($"'{words[i]}' needs a value: {Ui.Command} {Form}");
            switch (words[i])
            {
                case "fail":
                    var r = Value();
                    rate = double.TryParse(r, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && parsed is >= 0 and <= 1
                        ? parsed
                        : throw new UserError($"fail '{r}': the share of requests that fail, from 0 (none) to 1 (all), e.g. 0.5");
                    break;
                case "slow":
                    var ms = Value();
                    latency = int.TryParse(ms, NumberStyles.None, CultureInfo.InvariantCulture, out var delay) && delay <= MaxLatencyMs
                        ? delay
                        : throw new UserError($"slow '{ms}': the milliseconds added to each request, from 0 to {MaxLatencyMs}, e.g. 2000");
                    break;
                case "off":
                    off = true;
                    break;
                case "--port":
                    var p = Value();
                    port = int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is >= 1 and <= 65535
                        ? number
                        : throw new UserError($"--port '{p}' is not a port: one accounts instance's host port, e.g. 8002");
                    break;
                default:
                    throw new UserError($"unknown word '{words[i]}' for chaos: {Ui.Command} {Form}");
            }
        }

        if (off && (rate is not null || latency is not null))
        {
            throw new UserError($"off turns every fault off: say it alone ({Ui.Command} chaos {step.Folder[..2]} off)");
        }

        return (off ? new Change(0, 0) : rate is null && latency is null ? null : new Change(rate, latency), port);
    }
}
