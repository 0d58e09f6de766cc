using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Workshop.Testing.Prometheus;

/// <summary>
/// A real Prometheus (the installed program, <see cref="Promtool.Require"/>) on a free loopback port,
/// with its own configuration and an empty database in a temporary folder, and its HTTP API for the
/// tests: the targets it scrapes, instant queries, the alerts its rules raise.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly ConcurrentQueue<string> _log = new();

    private PrometheusServer(Process process, string directory, Uri address)
    {
        _process = process;
        _directory = directory;
        BaseAddress = address;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    /// <summary>
    /// Starts Prometheus with <paramref name="configuration"/> as its prometheus.yml, and the
    /// <paramref name="files"/> (rule files, by path) copied beside it, where the configuration's
    /// relative paths find them. Returns once Prometheus says it is ready.
    /// </summary>
    public static async Task<PrometheusServer> StartAsync(string configuration, params string[] files)
    {
        Promtool.Require();
        var directory = Directory.CreateTempSubdirectory("prometheus-").FullName;
        await File.WriteAllTextAsync(Path.Combine(directory, "prometheus.yml"), configuration);
        foreach (var file in files)
        {
            File.Copy(file, Path.Combine(directory, Path.GetFileName(file)));
        }

        var port = FreePort();
        var start = new ProcessStartInfo(Promtool.Find("prometheus")!)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("--config.file=prometheus.yml");
        start.ArgumentList.Add($"--storage.tsdb.path={Path.Combine(directory, "data")}");
        start.ArgumentList.Add($"--web.listen-address=127.0.0.1:{port}");
        start.ArgumentList.Add("--web.enable-lifecycle");

        var process = Process.Start(start)!;
        var server = new PrometheusServer(process, directory, new Uri($"http://127.0.0.1:{port}"));
        process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => server.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await server.WaitUntilReadyAsync(TimeSpan.FromSeconds(30));
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>What Prometheus logged, for a failure's message.</summary>
    public string Tail(int lines = 30) => "--- last log lines of prometheus ---\n" + string.Join('\n', _log.TakeLast(lines));

    /// <summary>The targets it scrapes (the active ones): job, instance, the URL it scrapes, up or down.</summary>
    public async Task<IReadOnlyList<PrometheusTarget>> TargetsAsync()
    {
        var data = await GetDataAsync("/api/v1/targets?state=active");
        return data.GetProperty("activeTargets").EnumerateArray().Select(t => new PrometheusTarget(
            t.GetProperty("labels").GetProperty("job").GetString()!,
            t.GetProperty("labels").GetProperty("instance").GetString()!,
            t.GetProperty("scrapeUrl").GetString()!,
            t.GetProperty("health").GetString()!,
            t.GetProperty("lastError").GetString() ?? "")).ToList();
    }

    /// <summary>An instant query: the series of the resulting vector, each with its labels and value.</summary>
    public async Task<IReadOnlyList<PrometheusSample>> QueryAsync(string promql)
    {
        var data = await GetDataAsync($"/api/v1/query?query={Uri.EscapeDataString(promql)}");
        var type = data.GetProperty("resultType").GetString();
        if (type == "scalar")
        {
            return [new PrometheusSample(new Dictionary<string, string>(), ParseValue(data.GetProperty("result")))];
        }

        Assert.True(type == "vector", $"'{promql}' gave a {type}, not a vector");
        return data.GetProperty("result").EnumerateArray().Select(s => new PrometheusSample(
            s.GetProperty("metric").EnumerateObject().ToDictionary(l => l.Name, l => l.Value.GetString()!),
            ParseValue(s.GetProperty("value")))).ToList();
    }

    /// <summary>Runs the query until its result satisfies <paramref name="condition"/> (scrapes come every few seconds).</summary>
    public async Task<IReadOnlyList<PrometheusSample>> WaitForAsync(string promql, Func<IReadOnlyList<PrometheusSample>, bool> condition, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        IReadOnlyList<PrometheusSample> last = [];
        while (watch.Elapsed < timeout)
        {
            last = await QueryAsync(promql);
            if (condition(last))
            {
                return last;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"'{promql}' did not give what was expected within {timeout.TotalSeconds:0} s. Last result: "
            + (last.Count == 0 ? "no series" : string.Join("; ", last)) + "\n" + Tail());
    }

    /// <summary>Waits until every target has been scraped and is up; fails naming the ones that are not.</summary>
    public async Task<IReadOnlyList<PrometheusTarget>> WaitForTargetsUpAsync(int expected, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        IReadOnlyList<PrometheusTarget> targets = [];
        while (watch.Elapsed < timeout)
        {
            targets = await TargetsAsync();
            if (targets.Count == expected && targets.All(t => t.Health == "up"))
            {
                return targets;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"Prometheus did not have {expected} targets up within {timeout.TotalSeconds:0} s: "
            + string.Join("; ", targets) + "\n" + Tail());
    }

    /// <summary>The alerts its rules raise now: name, state (pending, firing) and labels.</summary>
    public async Task<IReadOnlyList<PrometheusAlert>> AlertsAsync()
    {
        var data = await GetDataAsync("/api/v1/alerts");
        return data.GetProperty("alerts").EnumerateArray().Select(a =>
        {
            var labels = a.GetProperty("labels").EnumerateObject().ToDictionary(l => l.Name, l => l.Value.GetString()!);
            return new PrometheusAlert(labels["alertname"], a.GetProperty("state").GetString()!, labels);
        }).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still being closed: the temporary folder is the system's to clean.
        }
    }

    private async Task<JsonElement> GetDataAsync(string path)
    {
        using var response = await Client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {body}");
        using var document = JsonDocument.Parse(body);
        return document.RootElement.GetProperty("data").Clone();
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"prometheus exited with code {_process.ExitCode} while starting.\n{Tail()}");
            }

            try
            {
                using var response = await Client.GetAsync("/-/ready");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException($"prometheus was not ready within {timeout.TotalSeconds:0} s.\n{Tail()}");
    }

    private void OnLine(string? line)
    {
        if (line is not null)
        {
            _log.Enqueue(line);
        }
    }

    private static double ParseValue(JsonElement pair) =>
        double.Parse(pair[1].GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

public sealed record PrometheusTarget(string Job, string Instance, string ScrapeUrl, string Health, string LastError)
{
    public override string ToString() => $"{Job} {ScrapeUrl}: {Health}{(LastError.Length > 0 ? $" ({LastError})" : "")}";
}

public sealed record PrometheusSample(IReadOnlyDictionary<string, string> Labels, double Value)
{
    public string Label(string name) => Labels.TryGetValue(name, out var value) ? value : "";

    public override string ToString() =>
        "{" + string.Join(", ", Labels.Select(l => $"{l.Key}=\"{l.Value}\"")) + "} " + Value.ToString(CultureInfo.InvariantCulture);
}

public sealed record PrometheusAlert(string Name, string State, IReadOnlyDictionary<string, string> Labels);
