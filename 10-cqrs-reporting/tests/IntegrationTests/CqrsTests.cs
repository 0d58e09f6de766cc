using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using RabbitMQ.Client;
using Workshop.Testing.Otlp;

namespace IntegrationTests;

/// <summary>
/// Commands through users and accounts, events through their outboxes and a real RabbitMQ, and the
/// reporting service's read model catching up: never slept for, polled with a bound. The counts prove
/// exactly once: each write is one event, each event applied once, each movement counted once.
/// </summary>
[Lesson("10-cqrs-reporting")]
public sealed class CqrsTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task WritesThroughTheGateway_AppearInTheReport_AndTheRanking()
    {
        await using var step = await CqrsStep.StartAsync();
        var ada = await step.CreateUserAsync("Ada", "ada@example.com");
        var grace = await step.CreateUserAsync("Grace", "grace@example.com");
        var first = await step.OpenAccountAsync(ada, 100m);
        await step.OpenAccountAsync(ada, 20m);
        await step.DepositAsync(first, 30.5m);
        using (var withdrawn = await step.Client.PostJsonAsync($"/api/accounts/{first}/withdraw", new { amount = 10m }))
        {
            await Json.ReadAsync(withdrawn, HttpStatusCode.OK);
        }

        using (var renamed = await step.Client.PutAsJsonAsync($"/api/users/{ada}", new { name = "Ada Lovelace", email = "ada@example.com" }))
        {
            await Json.ReadAsync(renamed, HttpStatusCode.OK);
        }

        var graceAccount = await step.OpenAccountAsync(grace, 500m);

        var report = await step.WaitForReportAsync(ada, r => r.GetProperty("name").GetString() == "Ada Lovelace" && r.GetProperty("movements").GetInt32() == 2, Bound);
        Assert.Equal("active", report.GetProperty("status").GetString());
        Assert.Equal(2, report.GetProperty("accountCount").GetInt32());
        Assert.Equal(140.50m, report.GetProperty("totalBalance").GetDecimal());
        await step.WaitForReportAsync(grace, r => r.GetProperty("totalBalance").GetDecimal() == 500m, Bound);

        // Eight writes, eight events (2 users created, 1 renamed, 3 accounts opened, 1 deposit, 1 withdrawal),
        // each applied once.
        var summary = await step.WaitForEventsAppliedAsync(8, Bound);
        Assert.Equal((2, 3, 640.50m), (summary.GetProperty("users").GetInt32(), summary.GetProperty("accounts").GetInt32(), summary.GetProperty("totalBalance").GetDecimal()));

        // The ranking: Grace (500) before Ada (140.50), a page at a time.
        using var ranking = await step.Client.GetAsync("/api/reports/users?page=1&pageSize=1");
        var page = await Json.ReadAsync(ranking, HttpStatusCode.OK);
        Assert.Equal(2, page.GetProperty("total").GetInt32());
        var top = Assert.Single(page.GetProperty("items").EnumerateArray());
        Assert.Equal((1, grace, 500m), (top.GetProperty("rank").GetInt32(), top.GetProperty("userId").GetInt32(), top.GetProperty("totalBalance").GetDecimal()));
        using var second = await step.Client.GetAsync("/api/reports/users?page=2&pageSize=1");
        var next = Assert.Single((await Json.ReadAsync(second, HttpStatusCode.OK)).GetProperty("items").EnumerateArray());
        Assert.Equal((2, ada), (next.GetProperty("rank").GetInt32(), next.GetProperty("userId").GetInt32()));
        Assert.NotEqual(0, graceAccount);

        // Both outboxes are empty: every event was confirmed by the broker.
        Assert.Equal(0, await CqrsStep.MetricAsync(step.Users, "outbox_backlog"));
        Assert.Equal(0, await CqrsStep.MetricAsync(step.Accounts, "outbox_backlog"));
    }

    [Fact]
    public async Task AWrite_IsOneTrace_FromTheRequestThroughTheBrokerIntoTheProjection()
    {
        await using var receiver = await OtlpStandIn.StartAsync();
        await using var step = await CqrsStep.StartAsync(receiver);

        var id = await step.CreateUserAsync("Ada", "ada@example.com");

        var spans = await receiver.WaitForSpansAsync(all => all.Any(s => s is { Service: "reporting", Kind: OtlpSpanKind.Consumer }), Bound);
        var process = Assert.Single(spans, s => s is { Service: "reporting", Kind: OtlpSpanKind.Consumer });
        Assert.Equal("process users.UserCreated", process.Name);
        var trace = receiver.Trace(process.TraceId);

        // reporting's projection under users' publish, under users' own span of the command, under the
        // request users served, under the gateway's request: one trace, each span under its cause.
        var publish = Assert.Single(trace, s => s.SpanId == process.ParentSpanId);
        Assert.Equal(("users", OtlpSpanKind.Producer, "publish users.UserCreated"), (publish.Service, publish.Kind, publish.Name));
        var create = Assert.Single(trace, s => s.SpanId == publish.ParentSpanId);
        Assert.Equal(("users", "users.create", id.ToString()), (create.Service, create.Name, create.Attribute("user.id")));
        var served = Assert.Single(trace, s => s.SpanId == create.ParentSpanId);
        Assert.Equal(("users", OtlpSpanKind.Server), (served.Service, served.Kind));
        var root = Assert.Single(trace, s => s.ParentSpanId is null);
        Assert.Equal(("gateway", OtlpSpanKind.Server, "/api/users/"), (root.Service, root.Kind, root.Attribute("url.path")));
        Assert.Equal(process.Attribute("messaging.message.id"), publish.Attribute("messaging.message.id"));
    }

    [Fact]
    public async Task ReportingKilledInTheMiddleOfAStreamOfWrites_AppliesEveryEventExactlyOnce_AfterItsRestart()
    {
        await using var step = await CqrsStep.StartAsync();
        var user = await step.CreateUserAsync("Ada", "ada@example.com");
        var account = await step.OpenAccountAsync(user, 0m);
        await step.WaitForReportAsync(user, r => r.GetProperty("accountCount").GetInt32() == 1, Bound);

        // 200 deposits of 1.00 to 2.00 from four writers; reporting is killed (no chance to ack or
        // close) once about a quarter of them are written, and started again at the end.
        const int deposits = 200;
        var written = 0;
        var killed = new TaskCompletionSource();
        var writers = Enumerable.Range(0, 4).Select(async w =>
        {
            for (var i = w; i < deposits; i += 4)
            {
                await step.DepositAsync(account, 1m + i % 101 / 100m);
                if (Interlocked.Increment(ref written) == deposits / 4)
                {
                    await step.Reporting.KillAsync();
                    killed.SetResult();
                }
            }
        }).ToList();
        await Task.WhenAll(writers);
        await killed.Task;
        await step.StartReportingAgainAsync();

        var expected = Enumerable.Range(0, deposits).Sum(i => 1m + i % 101 / 100m);
        var report = await step.WaitForReportAsync(user, r => r.GetProperty("movements").GetInt32() >= deposits, Bound);
        Assert.Equal(deposits, report.GetProperty("movements").GetInt32());
        Assert.Equal(expected, report.GetProperty("totalBalance").GetDecimal());
        // 1 user + 1 account + 200 deposits: each applied once, whatever was delivered twice.
        await step.WaitForEventsAppliedAsync(2 + deposits, Bound);
    }

    [Fact]
    public async Task BrokerStopped_WritesGoOn_AndTheOutboxDrainsWhenItReturns()
    {
        await using var step = await CqrsStep.StartAsync();
        var user = await step.CreateUserAsync("Ada", "ada@example.com");
        var account = await step.OpenAccountAsync(user, 10m);
        await step.WaitForReportAsync(user, r => r.GetProperty("totalBalance").GetDecimal() == 10m, Bound);

        await step.Broker.StopAsync();
        for (var i = 0; i < 20; i++)
        {
            await step.DepositAsync(account, 1m);
        }

        using var renamed = await step.Client.PutAsJsonAsync($"/api/users/{user}", new { name = "Ada Lovelace", email = "ada@example.com" });
        Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);

        // The events wait in the outboxes; reporting is not ready without its broker, and says why.
        Assert.Equal(20, await CqrsStep.MetricAsync(step.Accounts, "outbox_backlog"));
        var waiting = await step.Accounts.WaitForLogAsync("Outbox relay waiting: ", Bound);
        Assert.Contains("RabbitMQ", waiting);
        using (var ready = await step.Reporting.Client.GetAsync("/health/ready"))
        {
            var body = await ready.Content.ReadAsStringAsync();
            Assert.True(ready.StatusCode == HttpStatusCode.ServiceUnavailable, body);
            Assert.Contains("\"name\":\"rabbitmq\",\"status\":\"Unhealthy\"", body);
        }

        await step.Broker.StartAgainAsync();

        var report = await step.WaitForReportAsync(user, r => r.GetProperty("movements").GetInt32() == 20 && r.GetProperty("name").GetString() == "Ada Lovelace", Bound);
        Assert.Equal(30m, report.GetProperty("totalBalance").GetDecimal());
        await step.WaitForEventsAppliedAsync(2 + 20 + 1, Bound);
        Assert.Equal(0, await CqrsStep.MetricAsync(step.Accounts, "outbox_backlog"));
        Assert.Equal(0, await CqrsStep.MetricAsync(step.Users, "outbox_backlog"));
    }

    [Fact]
    public async Task TheSameEventTwice_AndOutOfOrder_LeaveTheReportRight_CountingNothingTwice()
    {
        await using var step = await CqrsStep.StartAsync();
        // An account the accounts service never opened, its events published by hand: version 3 first,
        // then version 2 (late), then version 3 again (a redelivery).
        var opened = Envelope("AccountOpened", "account-900", 1, new { accountId = 900, userId = 77, balance = 10m });
        var v2 = Envelope("BalanceChanged", "account-900", 2, new { accountId = 900, userId = 77, amount = 5m, balance = 15m });
        var v3 = Envelope("BalanceChanged", "account-900", 3, new { accountId = 900, userId = 77, amount = 20m, balance = 35m });
        foreach (var message in new[] { opened, v3, v2, v3 })
        {
            await step.Broker.PublishAsync("workshop.events", $"accounts.{message.Type}", message.Body, Properties(message));
        }

        var report = await step.WaitForReportAsync(77, r => r.GetProperty("movements").GetInt32() == 2, Bound);
        Assert.Equal(35m, report.GetProperty("totalBalance").GetDecimal());
        Assert.Equal(("pending", 1), (report.GetProperty("status").GetString(), report.GetProperty("accountCount").GetInt32()));
        await step.WaitForEventsAppliedAsync(3, Bound);
        await WaitForAsync(async () => await CqrsStep.MetricAsync(step.Reporting, "reporting_duplicates_skipped_total") == 1, "one duplicate skipped");
    }

    [Fact]
    public async Task EventsThatWaitedTogether_LeaveTheReportRight_SkippingACopy_AndOneThatCannotBeApplied_IsDeadLetteredAlone()
    {
        await using var step = await CqrsStep.StartAsync();
        // Reporting away while four messages wait in its queue, so that they come together when it is
        // back: an account opened, a change to another account that no report can hold (a balance
        // whose cents no number holds: applying it fails, every time), a deposit, and the same deposit again.
        await step.Reporting.KillAsync();
        var opened = Envelope("AccountOpened", "account-901", 1, new { accountId = 901, userId = 78, balance = 10m });
        var broken = Envelope("BalanceChanged", "account-902", 1, new { accountId = 902, userId = 78, amount = 1m, balance = decimal.MaxValue });
        var deposit = Envelope("BalanceChanged", "account-901", 3, new { accountId = 901, userId = 78, amount = 5m, balance = 15m });
        foreach (var message in new[] { opened, broken, deposit, deposit })
        {
            await step.Broker.PublishAsync("workshop.events", $"accounts.{message.Type}", message.Body, Properties(message));
        }

        await step.StartReportingAgainAsync();

        var report = await step.WaitForReportAsync(78, r => r.GetProperty("movements").GetInt32() == 1, Bound);
        Assert.Equal((15m, 1), (report.GetProperty("totalBalance").GetDecimal(), report.GetProperty("accountCount").GetInt32()));
        await WaitForAsync(async () => await step.Broker.MessageCountAsync("reporting.events.dead-letter") == 1, "the broken event in the dead-letter queue");
        // Tried once more before it was set aside, and said so each time.
        Assert.Single(step.Reporting.Log, l => l.Contains($"Could not apply BalanceChanged {broken.Id}", StringComparison.Ordinal) && l.EndsWith("it comes again", StringComparison.Ordinal));
        Assert.Single(step.Reporting.Log, l => l.Contains($"Could not apply BalanceChanged {broken.Id}", StringComparison.Ordinal) && l.EndsWith("it goes to the dead-letter queue", StringComparison.Ordinal));
        await step.WaitForEventsAppliedAsync(2, Bound);
        await WaitForAsync(async () => await CqrsStep.MetricAsync(step.Reporting, "reporting_duplicates_skipped_total") == 1, "the copy skipped");
        Assert.Equal(1, await CqrsStep.MetricAsync(step.Reporting, "reporting_dead_lettered_total"));
        Assert.Equal(0u, await step.Broker.MessageCountAsync("reporting.events"));
    }

    [Fact]
    public async Task ReportingsDatabaseSwitchedOff_TheEventsComeAgain_AndAreAppliedOnceItIsBack()
    {
        await using var step = await CqrsStep.StartAsync();
        var user = await step.CreateUserAsync("Ada", "ada@example.com");
        var account = await step.OpenAccountAsync(user, 0m);
        await step.WaitForReportAsync(user, r => r.GetProperty("accountCount").GetInt32() == 1, Bound);

        // The deposits' events reach reporting while it cannot write: they go back to the queue, in
        // batches or one by one, never to the dead-letter queue, however often they come again.
        using (var off = await step.Reporting.Client.PutAsync("/admin/database", Json.Body("""{"available":false}""")))
        {
            Assert.Equal(HttpStatusCode.OK, off.StatusCode);
        }

        const int deposits = 10;
        await Task.WhenAll(Enumerable.Range(0, deposits).Select(_ => step.DepositAsync(account, 1m)));
        // Tried, and tried again after coming back: still nothing set aside.
        await WaitForAsync(() => Task.FromResult(step.Reporting.Log.Count(l => l.Contains("Could not apply", StringComparison.Ordinal)) >= 2), "the events tried twice");
        using (var on = await step.Reporting.Client.PutAsync("/admin/database", Json.Body("""{"available":true}""")))
        {
            Assert.Equal(HttpStatusCode.OK, on.StatusCode);
        }

        var report = await step.WaitForReportAsync(user, r => r.GetProperty("movements").GetInt32() == deposits, Bound);
        Assert.Equal(10m, report.GetProperty("totalBalance").GetDecimal());
        await step.WaitForEventsAppliedAsync(2 + deposits, Bound);
        Assert.DoesNotContain(step.Reporting.Log, l => l.Contains("dead-letter queue", StringComparison.Ordinal));
        Assert.Equal(0, await CqrsStep.MetricAsync(step.Reporting, "reporting_dead_lettered_total"));
        Assert.Equal(0u, await step.Broker.MessageCountAsync("reporting.events.dead-letter"));
    }

    [Fact]
    public async Task APoisonMessage_GoesToTheDeadLetterQueue_WithOneLogLine_AndLaterMessagesStillFlow()
    {
        await using var step = await CqrsStep.StartAsync();

        await step.Broker.PublishAsync("workshop.events", "users.UserCreated", Encoding.UTF8.GetBytes("this is not JSON"),
            new BasicProperties { MessageId = "poison-1" });
        var unknown = Envelope("UserDeleted", "user-5", 2, new { userId = 5 });
        await step.Broker.PublishAsync("workshop.events", "users.UserDeleted", unknown.Body, Properties(unknown));
        var user = await step.CreateUserAsync("Ada", "ada@example.com");

        await step.WaitForReportAsync(user, r => r.GetProperty("name").GetString() == "Ada", Bound);
        await WaitForAsync(async () => await step.Broker.MessageCountAsync("reporting.events.dead-letter") == 2, "two messages in the dead-letter queue");
        Assert.Single(step.Reporting.Log, l => l.Contains("Dead-lettered message poison-1 (users.UserCreated): not valid event JSON", StringComparison.Ordinal));
        Assert.Single(step.Reporting.Log, l => l.Contains($"Dead-lettered message {unknown.Id} (users.UserDeleted): unknown event type 'UserDeleted'", StringComparison.Ordinal));
        Assert.Equal(0u, await step.Broker.MessageCountAsync("reporting.events"));
        Assert.Equal(2, await CqrsStep.MetricAsync(step.Reporting, "reporting_dead_lettered_total"));
    }

    [Fact]
    public async Task Reporting_RegistersInConsul_IsReadyWhileConsuming_AndPublishesItsMetrics()
    {
        await using var step = await CqrsStep.StartAsync();

        // Registered like the others, passing Consul's check of its readiness.
        await step.Consul.WaitUntilAsync(r => r.Passing("reporting").Count == 1, Bound);

        using var ready = await step.Reporting.Client.GetAsync("/health/ready");
        var body = await ready.Content.ReadAsStringAsync();
        Assert.True(ready.StatusCode == HttpStatusCode.OK, body);
        Assert.Contains("\"name\":\"rabbitmq\",\"status\":\"Healthy\"", body);
        Assert.Contains("\"name\":\"database\",\"status\":\"Healthy\"", body);

        var metrics = await step.Reporting.Client.GetStringAsync("/metrics");
        foreach (var name in new[] { "reporting_events_applied_total{type=\"UserCreated\"} 0", "reporting_duplicates_skipped_total 0", "reporting_dead_lettered_total 0", "reporting_projection_lag_seconds_count 0" })
        {
            Assert.Contains(name, metrics);
        }

        Assert.Contains("outbox_backlog 0", await step.Users.Client.GetStringAsync("/metrics"));
    }

    private sealed record Message(Guid Id, string Type, byte[] Body);

    private static Message Envelope(string type, string aggregateId, int version, object data)
    {
        var id = Guid.NewGuid();
        var body = JsonSerializer.SerializeToUtf8Bytes(new { id, type, aggregateId, version, occurredAt = DateTimeOffset.UtcNow, data });
        return new Message(id, type, body);
    }

    private static BasicProperties Properties(Message message) => new()
    {
        MessageId = message.Id.ToString(),
        Type = message.Type,
        ContentType = "application/json",
        DeliveryMode = DeliveryModes.Persistent,
    };

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (watch.Elapsed < Bound)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"not within {Bound.TotalSeconds:0} s: {what}");
    }
}
