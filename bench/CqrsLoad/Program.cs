// The load and the count of bench/cqrs.sh (it runs this; each command prints one line or a few
// "name value" lines for the script's report).
//
//   setup <gateway> <api-key> <users> <accounts-per-user>
//       creates the users (POST /api/users) and their accounts (POST /api/accounts, opened with 100.00)
//       through the gateway; prints the accounts' ids, comma-separated.
//   deposits <gateway> <api-key> <writes-per-second> <seconds> <account-ids>
//       an open model: deposit i of 1.00 (POST /api/accounts/{id}/deposit, to the accounts in turn) is
//       sent at start + i / rate whatever the answers before it, and its latency runs from that scheduled
//       time to its answer, so a stall delays the writes behind it and shows in their latency (no
//       coordinated omission). Prints "sent ok errors writes-per-second p50-ms p99-ms max-ms from-ms to-ms cpu-ms":
//       writes/s is the 2xx answers over the time from the first scheduled write to the last answer; the
//       percentiles are of the 2xx answers; from and to (Unix ms) are the first scheduled write and the last
//       answer; cpu is the CPU time this process spent, the load's own share of the machine.
//   settle <reporting.db> <users.db> <accounts.db> <timeout-seconds>
//       waits until reporting has applied every event recorded in the two outboxes: at most the timeout,
//       and no longer than 15 s without one more event applied; prints "seconds events-not-applied".
//   count <reporting.db> <users.db> <accounts.db> <from-ms> <to-ms>
//       counts recorded, applied, lost (recorded, not applied), the movements in the reports, and the lag
//       of each event that occurred in [from, to]; prints "name value" lines.
//   probe <sqlite-file> <amqp-uri> <count>
//       what the two steps of the pipeline that wait for the disk cost on this machine, one at a time:
//       a SQLite transaction of one small insert, committed (a new file in WAL
//       mode, the library's default synchronous setting, as the services open theirs), and a persistent,
//       mandatory publish to a durable queue awaited until the broker confirms it (the round trip the outbox
//       relay waits for, once per batch). Prints "name value" lines: the mean and p99 of each, in ms, and this process's CPU time.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

var invariant = CultureInfo.InvariantCulture;
try
{
    return args switch
    {
        ["setup", var gateway, var key, var users, var perUser] =>
            await Load.SetupAsync(gateway, key, int.Parse(users, invariant), int.Parse(perUser, invariant)),
        ["deposits", var gateway, var key, var rate, var seconds, var accounts] =>
            await Load.DepositsAsync(gateway, key, int.Parse(rate, invariant), int.Parse(seconds, invariant),
                accounts.Split(',').Select(a => int.Parse(a, invariant)).ToArray()),
        ["settle", var reporting, var users, var accounts, var timeout] =>
            await Events.SettleAsync(reporting, users, accounts, TimeSpan.FromSeconds(double.Parse(timeout, invariant))),
        ["count", var reporting, var users, var accounts, var from, var to] =>
            Events.Count(reporting, users, accounts, long.Parse(from, invariant), long.Parse(to, invariant)),
        ["probe", var file, var amqp, var count] =>
            await Probe.RunAsync(file, new Uri(amqp), int.Parse(count, invariant)),
        _ => Usage(),
    };
}
catch (Exception e) when (e is HttpRequestException or SqliteException or InvalidOperationException or FormatException
    or RabbitMQ.Client.Exceptions.BrokerUnreachableException or RabbitMQ.Client.Exceptions.PublishException)
{
    Console.Error.WriteLine($"CqrsLoad {string.Join(' ', args.Take(1))}: {e.Message}");
    return 1;
}

static int Usage()
{
    Console.Error.WriteLine("usage: CqrsLoad setup|deposits|settle|count ... (see bench/CqrsLoad/Program.cs)");
    return 2;
}

internal static class Load
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    private static HttpClient Client(string gateway, string key) => new(new SocketsHttpHandler
    {
        // HTTP/1.1: one request at a time per connection. 64 are plenty at a few ms per write; should
        // more writes be due at once, they wait for a connection, and their latency shows it.
        MaxConnectionsPerServer = 64,
        UseProxy = false,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
    })
    {
        BaseAddress = new Uri(gateway.TrimEnd('/') + "/"),
        Timeout = TimeSpan.FromSeconds(10),
        DefaultRequestHeaders = { { "X-Api-Key", key } },
    };

    public static async Task<int> SetupAsync(string gateway, string key, int users, int perUser)
    {
        using var client = Client(gateway, key);
        var accounts = new List<int>();
        for (var u = 1; u <= users; u++)
        {
            var user = await PostAsync(client, "api/users", $$"""{"name":"Bench User {{u}}","email":"bench-{{u}}@example.com"}""");
            for (var a = 0; a < perUser; a++)
            {
                // At accounts' own route, as bench/chain.sh does: users' call to accounts gives up after 1 s,
                // which a service's first requests, still being compiled, can take.
                var account = await PostAsync(client, "api/accounts", $$"""{"userId":{{user}},"initialBalance":100}""");
                accounts.Add(account);
            }
        }

        Console.WriteLine(string.Join(',', accounts));
        return 0;
    }

    private static async Task<int> PostAsync(HttpClient client, string path, string json)
    {
        using var answer = await client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        var body = await answer.Content.ReadAsStringAsync();
        if (!answer.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST {path} answered {(int)answer.StatusCode}: {body}");
        }

        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetInt32();
    }

    public static async Task<int> DepositsAsync(string gateway, string key, int rate, int seconds, int[] accounts)
    {
        var total = checked(rate * seconds);
        var latency = new double[total];
        var status = new int[total];
        var answered = new long[total];
        var paths = accounts.Select(a => $"api/accounts/{a}/deposit").ToArray();
        var body = "{\"amount\":1.00}"u8.ToArray();
        using var client = Client(gateway, key);
        var tasks = new Task[total];

        var fromMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var start = Stopwatch.GetTimestamp();
        var ticksPerWrite = (double)Stopwatch.Frequency / rate;

        async Task SendAsync(int i)
        {
            var scheduled = start + (long)(i * ticksPerWrite);
            using var request = new HttpRequestMessage(HttpMethod.Post, paths[i % paths.Length]) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new("application/json");
            try
            {
                using var answer = await client.SendAsync(request);
                status[i] = (int)answer.StatusCode;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                status[i] = 0;
            }

            answered[i] = Stopwatch.GetTimestamp();
            latency[i] = Stopwatch.GetElapsedTime(scheduled, answered[i]).TotalMilliseconds;
        }

        // Each write leaves at its scheduled time (within the timer's millisecond or so), whether or not
        // the ones before it have been answered.
        var sent = 0;
        while (sent < total)
        {
            var due = Math.Min(total, (long)(Stopwatch.GetElapsedTime(start).TotalSeconds * rate) + 1);
            for (; sent < due; sent++)
            {
                tasks[sent] = SendAsync(sent);
            }

            if (sent < total)
            {
                await Task.Delay(1);
            }
        }

        await Task.WhenAll(tasks);
        var last = answered.Max();
        var toMs = fromMs + (long)Stopwatch.GetElapsedTime(start, last).TotalMilliseconds;
        var ok = Enumerable.Range(0, total).Where(i => status[i] is >= 200 and < 300).ToArray();
        var sorted = ok.Select(i => latency[i]).Order().ToArray();
        var window = Stopwatch.GetElapsedTime(start, last).TotalSeconds;
        Console.WriteLine(string.Join(' ',
            total.ToString(Invariant), ok.Length.ToString(Invariant), (total - ok.Length).ToString(Invariant),
            (ok.Length / window).ToString("0.0", Invariant),
            Percentile(sorted, 0.50).ToString("0.000", Invariant), Percentile(sorted, 0.99).ToString("0.000", Invariant),
            (sorted.Length > 0 ? sorted[^1] : 0).ToString("0.000", Invariant),
            fromMs.ToString(Invariant), toMs.ToString(Invariant),
            ((long)Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds).ToString(Invariant)));
        var statuses = Enumerable.Range(0, total).Where(i => status[i] is not (>= 200 and < 300))
            .GroupBy(i => status[i]).Select(g => $"{(g.Key == 0 ? "no answer" : g.Key.ToString(Invariant))}: {g.Count()}");
        if (ok.Length < total)
        {
            Console.Error.WriteLine($"deposits not answered 2xx: {string.Join(", ", statuses)}");
        }

        return 0;
    }

    /// <summary>Nearest rank: the smallest value with at least <paramref name="p"/> of the values at or below it.</summary>
    public static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}

internal static class Events
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    // reporting.db stores its times as EF Core's DateTimeOffsetToBinaryConverter makes them (numbers SQLite
    // can compare); the services' Outbox tables as EF Core's default for SQLite, text such as
    // "2025-01-01 12:00:00.1234567+00:00".
    private static readonly DateTimeOffsetToBinaryConverter Binary = new();

    private static DateTimeOffset FromBinary(long value) => (DateTimeOffset)Binary.ConvertFromProvider(value)!;

    private static DateTimeOffset FromText(string value) => DateTimeOffset.Parse(value, Invariant, DateTimeStyles.AssumeUniversal);

    /// <summary>reporting.db with the two outboxes attached as "u" and "a"; read only.</summary>
    private static SqliteConnection Open(string reporting, string users, string accounts)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = reporting,
            Mode = SqliteOpenMode.ReadOnly,
            DefaultTimeout = 30,
            Pooling = false,
        }.ToString());
        connection.Open();
        foreach (var (path, alias) in new[] { (users, "u"), (accounts, "a") })
        {
            using var attach = connection.CreateCommand();
            attach.CommandText = $"ATTACH DATABASE $path AS {alias}";
            attach.Parameters.AddWithValue("$path", path);
            attach.ExecuteNonQuery();
        }

        return connection;
    }

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar() ?? 0L, Invariant);
    }

    private const string Recorded = "SELECT EventId FROM u.Outbox UNION ALL SELECT EventId FROM a.Outbox";

    private const string NotApplied =
        $"SELECT COUNT(*) FROM ({Recorded}) o WHERE NOT EXISTS (SELECT 1 FROM ProcessedEvents p WHERE p.EventId = o.EventId)";

    /// <summary>Without one more event applied for this long, reporting is not catching up: the wait ends.</summary>
    private static readonly TimeSpan StalledAfter = TimeSpan.FromSeconds(15);

    public static async Task<int> SettleAsync(string reporting, string users, string accounts, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        var progress = Stopwatch.StartNew();
        long missing, before = long.MaxValue;
        while (true)
        {
            using (var connection = Open(reporting, users, accounts))
            {
                missing = Scalar(connection, NotApplied);
            }

            if (missing < before)
            {
                before = missing;
                progress.Restart();
            }

            if (missing == 0 || watch.Elapsed > timeout || progress.Elapsed > StalledAfter)
            {
                break;
            }

            await Task.Delay(100);
        }

        Console.WriteLine($"{watch.Elapsed.TotalSeconds.ToString("0.0", Invariant)} {missing.ToString(Invariant)}");
        return 0;
    }

    public static int Count(string reporting, string users, string accounts, long fromMs, long toMs)
    {
        using var connection = Open(reporting, users, accounts);
        var figures = new List<(string Name, string Value)>();
        void Add(string name, double value, string format = "0") => figures.Add((name, value.ToString(format, Invariant)));

        var recordedUsers = Scalar(connection, "SELECT COUNT(*) FROM u.Outbox");
        var recordedAccounts = Scalar(connection, "SELECT COUNT(*) FROM a.Outbox");
        Add("recorded", recordedUsers + recordedAccounts);
        Add("recorded_users", recordedUsers);
        Add("recorded_accounts", recordedAccounts);
        Add("unsent", Scalar(connection, "SELECT (SELECT COUNT(*) FROM u.Outbox WHERE SentAt IS NULL) + (SELECT COUNT(*) FROM a.Outbox WHERE SentAt IS NULL)"));
        Add("applied", Scalar(connection, "SELECT COUNT(*) FROM ProcessedEvents"));
        Add("lost", Scalar(connection, NotApplied));
        // Applied and recorded nowhere: none, unless the count itself is wrong.
        Add("unknown", Scalar(connection, "SELECT COUNT(*) FROM ProcessedEvents p WHERE p.EventId NOT IN (SELECT EventId FROM u.Outbox) AND p.EventId NOT IN (SELECT EventId FROM a.Outbox)"));
        // Deposits: one BalanceChanged each in accounts' outbox, and one movement each in the reports.
        Add("deposits_recorded", Scalar(connection, "SELECT COUNT(*) FROM a.Outbox WHERE Type = 'BalanceChanged'"));
        Add("deposits_applied", Scalar(connection, "SELECT COUNT(*) FROM ProcessedEvents WHERE Type = 'BalanceChanged'"));
        Add("movements", Scalar(connection, "SELECT COALESCE(SUM(Movements), 0) FROM UserReports"));
        // Per user, so that a movement counted twice for one user and one missing for another cannot
        // cancel out: the movements in the user's report against the deposits committed to their accounts.
        const string PerUser = """
            SELECT r.UserId, r.Movements - COALESCE(d.Deposits, 0) AS Surplus
            FROM UserReports r
            LEFT JOIN (SELECT acc.UserId, COUNT(*) AS Deposits FROM a.Outbox o JOIN a.Accounts acc ON o.AggregateId = 'account-' || acc.Id
                       WHERE o.Type = 'BalanceChanged' GROUP BY acc.UserId) d ON d.UserId = r.UserId
            """;
        Add("movements_over", Scalar(connection, $"SELECT COALESCE(SUM(CASE WHEN Surplus > 0 THEN Surplus ELSE 0 END), 0) FROM ({PerUser})"));
        Add("movements_under", Scalar(connection, $"SELECT COALESCE(SUM(CASE WHEN Surplus < 0 THEN -Surplus ELSE 0 END), 0) FROM ({PerUser})"));
        Add("report_balance_cents", Scalar(connection, "SELECT COALESCE(SUM(TotalBalanceCents), 0) FROM UserReports"));
        Add("accounts_balance_cents", Scalar(connection, "SELECT COALESCE(SUM(BalanceCents), 0) FROM a.Accounts"));

        // Every event applied, with when it happened at its service, when reporting applied it, and (for
        // the outbox it came from) when its relay marked it sent, after the broker confirmed its batch.
        var events = new List<(DateTimeOffset Occurred, DateTimeOffset Applied, DateTimeOffset? Sent)>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = """
                SELECT p.OccurredAt, p.AppliedAt, COALESCE(ua.SentAt, aa.SentAt)
                FROM ProcessedEvents p
                LEFT JOIN u.Outbox ua ON ua.EventId = p.EventId
                LEFT JOIN a.Outbox aa ON aa.EventId = p.EventId
                """;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                events.Add((FromBinary(reader.GetInt64(0)), FromBinary(reader.GetInt64(1)), reader.IsDBNull(2) ? null : FromText(reader.GetString(2))));
            }
        }

        var from = DateTimeOffset.FromUnixTimeMilliseconds(fromMs);
        var to = DateTimeOffset.FromUnixTimeMilliseconds(toMs);
        var window = events.Where(e => e.Occurred >= from && e.Occurred <= to).ToList();
        var lag = window.Select(e => (e.Applied - e.Occurred).TotalMilliseconds).Order().ToArray();
        Add("window_events", window.Count);
        Add("lag_p50_ms", Load.Percentile(lag, 0.50), "0.000");
        Add("lag_p99_ms", Load.Percentile(lag, 0.99), "0.000");
        Add("lag_max_ms", lag.Length > 0 ? lag[^1] : 0, "0.000");
        Add("applied_per_second", events.Count(e => e.Applied >= from && e.Applied <= to) / Math.Max(0.001, (to - from).TotalSeconds), "0.0");
        var lastApplied = window.Count > 0 ? window.Max(e => e.Applied) : to;
        Add("last_applied_after_ms", Math.Max(0, (lastApplied - to).TotalMilliseconds), "0.000");

        // Where the time goes, from the same timestamps.
        // The projection: consecutive events where the next had been published (its batch marked sent,
        // so it was at the broker or in the consumer's prefetch) before the one ahead of it was applied:
        // the consumer had it waiting, and the gap between the two applications is what one event costs it.
        var ordered = window.Where(e => e.Sent is not null).OrderBy(e => e.Applied).ToList();
        var projection = new List<double>();
        for (var i = 1; i < ordered.Count; i++)
        {
            if (ordered[i].Sent <= ordered[i - 1].Applied)
            {
                projection.Add((ordered[i].Applied - ordered[i - 1].Applied).TotalMilliseconds);
            }
        }

        Add("projection_waiting_share", ordered.Count > 1 ? (double)projection.Count / (ordered.Count - 1) : 0, "0.000");
        Add("projection_ms_per_event", projection.Count > 0 ? projection.Average() : 0, "0.000");
        // It applies the events that wait in one transaction, and they share its AppliedAt.
        Add("projection_events_per_transaction", window.Count / (double)Math.Max(1, window.Select(e => e.Applied).Distinct().Count()), "0.0");

        // The relay: it marks a batch (up to 100 events) sent at once, after the broker confirmed each of
        // its events in turn, so the rows of one batch share their SentAt. Where a batch's first event had
        // occurred before the batch ahead of it was marked, the relay went from one batch straight to the
        // next, and the time between the two marks is what the batch cost it (reading the outbox, each
        // publish and its confirm, marking).
        var batches = window.Where(e => e.Sent is not null).GroupBy(e => e.Sent!.Value).OrderBy(g => g.Key)
            .Select(g => (Sent: g.Key, Size: g.Count(), FirstOccurred: g.Min(e => e.Occurred), LastApplied: g.Max(e => e.Applied))).ToList();
        // Split at the last write: while the writes went on (the relay sharing accounts' database, the
        // disk and the cores with them) and after (draining what had piled up).
        // A batch's time in two parts: publishing, from the mark of the batch ahead until its last event
        // was applied in reporting (so the publishes and their confirms, and the delivery and projection of
        // the last), and marking, from there until its rows were marked sent (the UPDATE in accounts' database).
        var relayCost = new List<(double Ms, int Size, bool Writing)>();
        var publishing = new List<(double Ms, bool Writing)>();
        var marking = new List<(double Ms, bool Writing)>();
        for (var i = 1; i < batches.Count; i++)
        {
            if (batches[i].FirstOccurred <= batches[i - 1].Sent)
            {
                var writing = batches[i].Sent <= to;
                relayCost.Add(((batches[i].Sent - batches[i - 1].Sent).TotalMilliseconds, batches[i].Size, writing));
                var applied = batches[i].LastApplied < batches[i - 1].Sent ? batches[i - 1].Sent
                    : batches[i].LastApplied > batches[i].Sent ? batches[i].Sent : batches[i].LastApplied;
                publishing.Add(((applied - batches[i - 1].Sent).TotalMilliseconds, writing));
                marking.Add(((batches[i].Sent - applied).TotalMilliseconds, writing));
            }
        }

        static double Mean(IEnumerable<(double Ms, bool Writing)> parts, bool writing) =>
            parts.Where(p => p.Writing == writing).Select(p => p.Ms).DefaultIfEmpty(0).Average();
        Add("relay_writing_publish_ms_per_batch", Mean(publishing, true), "0.000");
        Add("relay_writing_mark_ms_per_batch", Mean(marking, true), "0.000");
        Add("relay_after_publish_ms_per_batch", Mean(publishing, false), "0.000");
        Add("relay_after_mark_ms_per_batch", Mean(marking, false), "0.000");

        static double PerEvent(IEnumerable<(double Ms, int Size, bool Writing)> costs) =>
            costs.Sum(c => c.Size) is var n and > 0 ? costs.Sum(c => c.Ms) / n : 0;
        Add("relay_batches", batches.Count);
        Add("relay_batch_size", batches.Count > 0 ? batches.Average(b => b.Size) : 0, "0.0");
        Add("relay_busy_batches", relayCost.Count);
        Add("relay_ms_per_event", PerEvent(relayCost), "0.000");
        Add("relay_writing_ms_per_event", PerEvent(relayCost.Where(c => c.Writing)), "0.000");
        Add("relay_after_ms_per_event", PerEvent(relayCost.Where(c => !c.Writing)), "0.000");
        var appliedAfter = window.Count(e => e.Applied > to);
        Add("applied_after_per_second", appliedAfter > 0 ? appliedAfter / Math.Max(0.001, (lastApplied - to).TotalSeconds) : 0, "0.0");

        foreach (var (name, value) in figures)
        {
            Console.WriteLine($"{name} {value}");
        }

        return 0;
    }
}

internal static class Probe
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Done first and not timed: this process's own first calls (compiling the code) are not the disk's.</summary>
    private const int Untimed = 20;

    public static async Task<int> RunAsync(string file, Uri amqp, int count)
    {
        var figures = new List<(string, double)>();

        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString()))
        {
            connection.Open();
            Execute(connection, "PRAGMA journal_mode=WAL; CREATE TABLE Probe (Id INTEGER PRIMARY KEY, Value TEXT NOT NULL);");
            using (var pragma = connection.CreateCommand())
            {
                pragma.CommandText = "PRAGMA synchronous";
                figures.Add(("sqlite_synchronous", Convert.ToDouble(pragma.ExecuteScalar(), Invariant)));
            }

            var commits = new double[count];
            for (var i = -Untimed; i < count; i++)
            {
                var start = Stopwatch.GetTimestamp();
                using var transaction = connection.BeginTransaction();
                using var insert = connection.CreateCommand();
                insert.Transaction = transaction;
                insert.CommandText = "INSERT INTO Probe (Value) VALUES ($value)";
                insert.Parameters.AddWithValue("$value", Guid.NewGuid().ToString());
                insert.ExecuteNonQuery();
                transaction.Commit();
                if (i >= 0)
                {
                    commits[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                }
            }

            figures.Add(("sqlite_commit_mean_ms", commits.Average()));
            figures.Add(("sqlite_commit_p99_ms", Load.Percentile(commits.Order().ToArray(), 0.99)));
        }

        var factory = new RabbitMQ.Client.ConnectionFactory { Uri = amqp, AutomaticRecoveryEnabled = false, ClientProvidedName = "bench probe" };
        await using (var connection = await factory.CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync(new RabbitMQ.Client.CreateChannelOptions(
            publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true)))
        {
            const string Queue = "bench.probe";
            await channel.QueueDeclareAsync(Queue, durable: true, exclusive: false, autoDelete: false);
            var body = new byte[600]; // about the size of a BalanceChanged envelope
            var publishes = new double[count];
            for (var i = -Untimed; i < count; i++)
            {
                var start = Stopwatch.GetTimestamp();
                await channel.BasicPublishAsync("", Queue, mandatory: true,
                    new RabbitMQ.Client.BasicProperties { DeliveryMode = RabbitMQ.Client.DeliveryModes.Persistent }, body);
                if (i >= 0)
                {
                    publishes[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                }
            }

            await channel.QueueDeleteAsync(Queue, ifUnused: false, ifEmpty: false);
            figures.Add(("confirm_mean_ms", publishes.Average()));
            figures.Add(("confirm_p99_ms", Load.Percentile(publishes.Order().ToArray(), 0.99)));
        }

        figures.Add(("cpu_ms", Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds));
        foreach (var (name, value) in figures)
        {
            Console.WriteLine($"{name} {value.ToString("0.000", Invariant)}");
        }

        return 0;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
