using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Messaging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using ServiceDefaults.Telemetry;
using Storage;

namespace Reporting.Projection;

/// <summary>
/// Consumes the events of users and accounts from the durable queue <see cref="Queue"/> and hands them
/// to the <see cref="ReportProjection"/>: the events waiting when it turns to them, in one transaction.
/// Acknowledged by hand, after that transaction has committed: a consumer that dies in between gets the
/// messages again, and the projection skips them. When a batch fails, its events are applied one at a
/// time, so that one event that cannot be applied holds up no other.
/// A message that cannot be read (not JSON, not an event, a type nobody knows) is rejected without
/// requeue, so the broker moves it to the dead-letter queue and the messages behind it flow on. While the
/// broker cannot be reached, it connects again (after 1 s, then up to every 5 s); readiness says so.
/// </summary>
public sealed partial class EventConsumer(
    IServiceScopeFactory scopes,
    IOptions<RabbitMqOptions> options,
    ServiceActivitySource tracing,
    ILogger<EventConsumer> logger) : BackgroundService
{
    public const string Queue = "reporting.events";

    /// <summary>Every event of both services.</summary>
    private static readonly string[] RoutingKeys = ["users.*", "accounts.*"];

    /// <summary>How many unacknowledged messages the broker hands over at once: also the largest batch.</summary>
    private const ushort Prefetch = 100;

    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    /// <summary>How long the service waits at its start for the first attempt to reach the broker.</summary>
    private static readonly TimeSpan FirstAttemptWait = TimeSpan.FromSeconds(10);

    private readonly TaskCompletionSource _firstAttempt = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile IConnection? _connection;
    private string? _problem;

    /// <summary>
    /// Starts consuming, and returns once the first attempt to connect has ended, either way (at most
    /// <see cref="FirstAttemptWait"/>): the service starts listening after that, so its first readiness
    /// probe finds it consuming when the broker is up, rather than still connecting.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await base.StartAsync(cancellationToken);
        await Task.WhenAny(_firstAttempt.Task, Task.Delay(FirstAttemptWait, cancellationToken));
    }

    /// <summary>The connection the consumer receives on, for readiness; fails while there is none.</summary>
    public Task<IConnection> ConnectionAsync() => _connection is { IsOpen: true } connection
        ? Task.FromResult(connection)
        : Task.FromException<IConnection>(new InvalidOperationException(
            $"Not connected to RabbitMQ at {options.Value.Describe()}: {_problem ?? "connecting"}."));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = options.Value.RetryDelay;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ConsumeUntilDisconnectedAsync(stoppingToken);
                delay = options.Value.RetryDelay;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                _firstAttempt.TrySetResult();
                var problem = e.Message;
                if (problem != _problem)
                {
                    LogCannotConsume(logger, options.Value.Describe(), problem);
                    _problem = problem;
                }

                try
                {
                    await Task.Delay(delay, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
    }

    private async Task ConsumeUntilDisconnectedAsync(CancellationToken stoppingToken)
    {
        var factory = new ConnectionFactory
        {
            Uri = options.Value.Uri!,
            ClientProvidedName = "reporting consumer",
            // The consumer reconnects by itself and declares its queue each time.
            AutomaticRecoveryEnabled = false,
            RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
        };
        await using var connection = await factory.CreateConnectionAsync(stoppingToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: stoppingToken);
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        channel.ChannelShutdownAsync += (_, _) =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };

        await Topology.DeclareConsumerQueueAsync(channel, Queue, RoutingKeys, stoppingToken);
        await channel.BasicQosAsync(prefetchSize: 0, prefetchCount: Prefetch, global: false, stoppingToken);

        // Each message is read as it arrives and waits here; the loop takes all that wait at once. Once
        // the connection is gone, a message that still arrives is dropped: unacknowledged, it comes again.
        var received = Channel.CreateUnbounded<Received>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            received.Writer.TryWrite(Read(delivery));
            return Task.CompletedTask;
        };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var applying = ApplyUntilClosedAsync(channel, received.Reader, stop.Token);
        await channel.BasicConsumeAsync(Queue, autoAck: false, consumer, stoppingToken);

        _connection = connection;
        _problem = null;
        _firstAttempt.TrySetResult();
        LogConsuming(logger, Queue, options.Value.Describe());
        try
        {
            // A loop that fails (an ack the broker did not take) ends the connection: the next one
            // gets the messages still unacknowledged.
            if (await Task.WhenAny(closed.Task, applying).WaitAsync(stoppingToken) == applying)
            {
                await applying;
            }

            LogDisconnected(logger, options.Value.Describe());
            _problem = "the connection was lost";
        }
        finally
        {
            // The loop ends with its channel, before the next connection's begins: two would apply at once.
            _connection = null;
            received.Writer.TryComplete();
            await stop.CancelAsync();
            // What it ended with was thrown above, or is its channel closing under it.
            await applying.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Applies what the consumer received, as many messages at once as wait, until the channel closes.</summary>
    private async Task ApplyUntilClosedAsync(IChannel channel, ChannelReader<Received> received, CancellationToken stoppingToken)
    {
        var batch = new List<Received>(Prefetch);
        while (await received.WaitToReadAsync(stoppingToken))
        {
            batch.Clear();
            while (batch.Count < Prefetch && received.TryRead(out var message))
            {
                batch.Add(message);
            }

            await ApplyAsync(channel, batch, stoppingToken);
        }
    }

    private async Task ApplyAsync(IChannel channel, List<Received> batch, CancellationToken stoppingToken)
    {
        // First the messages that are not events, one by one: the ack of the batch below takes every
        // message before its tag along, and these must go to the dead-letter queue instead.
        foreach (var poison in batch.Where(m => m.Event is null))
        {
            // One line, and the message set aside: the ones behind it must not wait on it.
            LogDeadLettered(logger, poison.MessageId, poison.RoutingKey, poison.Problem!);
            ReportingMetrics.DeadLettered.Inc();
            await channel.BasicNackAsync(poison.Tag, multiple: false, requeue: false, stoppingToken);
        }

        var events = batch.Where(m => m.Event is not null).ToList();
        if (events.Count <= 1)
        {
            if (events.Count == 1)
            {
                await ApplyOneAsync(channel, events[0], stoppingToken);
            }

            return;
        }

        var started = DateTimeOffset.UtcNow;
        IReadOnlyList<ApplyOutcome> outcomes;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            outcomes = await scope.ServiceProvider.GetRequiredService<ReportProjection>()
                .ApplyAsync(events.ConvertAll(m => m.Event!), stoppingToken);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested && IsDatabaseAway(e))
        {
            // Nothing of the batch was applied, and nothing can be until the database is back: all of
            // it goes back to the queue and comes again.
            LogApplyBatchFailed(logger, events.Count, e.Message, "they come again");
            await Task.Delay(TimeSpan.FromMilliseconds(500), stoppingToken);
            await channel.BasicNackAsync(events[^1].Tag, multiple: true, requeue: true, CancellationToken.None);
            return;
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            // Nothing of the batch was applied: each event on its own now, where one that fails is
            // requeued or dead-lettered alone.
            LogApplyBatchFailed(logger, events.Count, e.Message, "applying them one at a time");
            foreach (var message in events)
            {
                await ApplyOneAsync(channel, message, stoppingToken);
            }

            return;
        }

        await channel.BasicAckAsync(events[^1].Tag, multiple: true, CancellationToken.None);
        for (var i = 0; i < events.Count; i++)
        {
            // Each event's span covers the transaction that applied it, in the trace its message carries.
            using var span = StartSpan(events[i], started);
            Applied(events[i], outcomes[i], span);
        }
    }

    /// <summary>Applies one event in a transaction of its own, and acknowledges it alone.</summary>
    private async Task ApplyOneAsync(IChannel channel, Received message, CancellationToken stoppingToken)
    {
        using var span = StartSpan(message, DateTimeOffset.UtcNow);
        ApplyOutcome outcome;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var outcomes = await scope.ServiceProvider.GetRequiredService<ReportProjection>().ApplyAsync([message.Event!], stoppingToken);
            outcome = outcomes[0];
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            // The reports' database failed (switched off, locked too long): the message goes back to the
            // queue and comes again. Once more only, unless the database is known to be away: a message
            // that fails every time would otherwise hold up all the others.
            var requeue = !message.Redelivered || IsDatabaseAway(e);
            var envelope = message.Event!.Envelope;
            LogApplyFailed(logger, envelope.Type, envelope.Id, e.Message, requeue ? "it comes again" : "it goes to the dead-letter queue");
            span?.SetStatus(ActivityStatusCode.Error, e.Message);
            if (requeue)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), stoppingToken);
            }
            else
            {
                ReportingMetrics.DeadLettered.Inc();
            }

            await channel.BasicNackAsync(message.Tag, multiple: false, requeue, CancellationToken.None);
            return;
        }

        await channel.BasicAckAsync(message.Tag, multiple: false, CancellationToken.None);
        Applied(message, outcome, span);
    }

    private static bool IsDatabaseAway(Exception e) =>
        e is DatabaseUnavailableException || e.InnerException is DatabaseUnavailableException;

    /// <summary>The span of an event's processing: a child of the publish whose context the message carries.</summary>
    private Activity? StartSpan(Received message, DateTimeOffset started)
    {
        var envelope = message.Event!.Envelope;
        var span = tracing.Source.StartActivity(
            ActivityKind.Consumer, message.Parent, name: $"process {message.RoutingKey}", startTime: started);
        span?.SetTag("messaging.system", "rabbitmq");
        span?.SetTag("messaging.operation.type", "process");
        span?.SetTag("messaging.destination.name", Queue);
        span?.SetTag("messaging.message.id", envelope.Id.ToString());
        span?.SetTag("event.aggregate", envelope.AggregateId);
        span?.SetTag("event.version", envelope.Version);
        return span;
    }

    private void Applied(Received message, ApplyOutcome outcome, Activity? span)
    {
        var envelope = message.Event!.Envelope;
        span?.SetTag("event.outcome", outcome == ApplyOutcome.Applied ? "applied" : "duplicate");
        if (outcome == ApplyOutcome.Duplicate)
        {
            ReportingMetrics.DuplicatesSkipped.Inc();
            LogDuplicate(logger, envelope.Type, envelope.Id);
            return;
        }

        ReportingMetrics.EventsApplied.WithLabels(envelope.Type).Inc();
        ReportingMetrics.ProjectionLag.Observe(Math.Max(0, (DateTimeOffset.UtcNow - envelope.OccurredAt).TotalSeconds));
    }

    /// <summary>
    /// A message as received: its event, or why it is not one. Read while the consumer hands it over,
    /// since its body is the client's to reuse once the handler returns.
    /// </summary>
    private sealed record Received(ulong Tag, bool Redelivered, string RoutingKey, string MessageId, ActivityContext Parent, Delivered? Event, string? Problem);

    private static Received Read(BasicDeliverEventArgs delivery)
    {
        var parent = RabbitMQActivitySource.ContextExtractor(delivery.BasicProperties);
        var read = TryRead(delivery, out var envelope, out var @event, out var problem) ? new Delivered(envelope, @event) : null;
        return new Received(delivery.DeliveryTag, delivery.Redelivered, delivery.RoutingKey,
            delivery.BasicProperties.MessageId ?? "(no id)", parent, read, read is null ? problem : null);
    }

    /// <summary>Reads an envelope and its event; false, with why, for a message that is not one.</summary>
    private static bool TryRead(BasicDeliverEventArgs delivery, out EventEnvelope envelope, out IIntegrationEvent @event, out string problem)
    {
        envelope = null!;
        @event = null!;
        try
        {
            var read = JsonSerializer.Deserialize<EventEnvelope>(delivery.Body.Span, IntegrationEvents.Json);
            if (read is null || read.Id == Guid.Empty || string.IsNullOrEmpty(read.AggregateId) || read.Version <= 0)
            {
                problem = "not an event envelope (id, type, aggregateId, version, occurredAt, data)";
                return false;
            }

            if (!IntegrationEvents.Types.TryGetValue(read.Type ?? "", out var type))
            {
                problem = $"unknown event type '{read.Type}'";
                return false;
            }

            if (read.Data.Deserialize(type, IntegrationEvents.Json) is not IIntegrationEvent data)
            {
                problem = $"no {read.Type} in its data";
                return false;
            }

            envelope = read;
            @event = data;
            problem = "";
            return true;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            problem = $"not valid event JSON ({e.Message})";
            return false;
        }
    }

    [LoggerMessage(LogLevel.Information, "Consuming {Queue} from RabbitMQ at {Broker}")]
    private static partial void LogConsuming(ILogger logger, string queue, string broker);

    [LoggerMessage(LogLevel.Warning, "Cannot consume from RabbitMQ at {Broker}: {Problem}; trying again")]
    private static partial void LogCannotConsume(ILogger logger, string broker, string problem);

    [LoggerMessage(LogLevel.Warning, "Connection to RabbitMQ at {Broker} lost; connecting again")]
    private static partial void LogDisconnected(ILogger logger, string broker);

    [LoggerMessage(LogLevel.Warning, "Dead-lettered message {MessageId} ({RoutingKey}): {Problem}")]
    private static partial void LogDeadLettered(ILogger logger, string messageId, string routingKey, string problem);

    [LoggerMessage(LogLevel.Warning, "Could not apply a batch of {Count} events: {Problem}; {Outcome}")]
    private static partial void LogApplyBatchFailed(ILogger logger, int count, string problem, string outcome);

    [LoggerMessage(LogLevel.Warning, "Could not apply {Type} {EventId}: {Problem}; {Outcome}")]
    private static partial void LogApplyFailed(ILogger logger, string type, Guid eventId, string problem, string outcome);

    [LoggerMessage(LogLevel.Debug, "Skipped {Type} {EventId}: applied before")]
    private static partial void LogDuplicate(ILogger logger, string type, Guid eventId);
}
