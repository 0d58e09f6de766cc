using System.Diagnostics;
using System.Text.Json;
using Messaging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using ServiceDefaults.Telemetry;
using Storage;

namespace Reporting.Projection;

/// <summary>
/// Consumes the events of users and accounts from the durable queue <see cref="Queue"/> and hands each
/// to the <see cref="ReportProjection"/>. Acknowledged by hand, after the projection's transaction has
/// committed: a consumer that dies in between gets the message again, and the projection skips it.
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

    /// <summary>How many unacknowledged messages the broker hands over at once.</summary>
    private const ushort Prefetch = 50;

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
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) => OnReceivedAsync(channel, delivery, stoppingToken);
        await channel.BasicConsumeAsync(Queue, autoAck: false, consumer, stoppingToken);

        _connection = connection;
        _problem = null;
        _firstAttempt.TrySetResult();
        LogConsuming(logger, Queue, options.Value.Describe());
        try
        {
            await closed.Task.WaitAsync(stoppingToken);
            LogDisconnected(logger, options.Value.Describe());
            _problem = "the connection was lost";
        }
        finally
        {
            _connection = null;
        }
    }

    private async Task OnReceivedAsync(IChannel channel, BasicDeliverEventArgs delivery, CancellationToken stoppingToken)
    {
        if (!TryRead(delivery, out var envelope, out var @event, out var problem))
        {
            // One line, and the message set aside: the ones behind it must not wait on it.
            LogDeadLettered(logger, delivery.BasicProperties.MessageId ?? "(no id)", delivery.RoutingKey, problem);
            ReportingMetrics.DeadLettered.Inc();
            await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: false, stoppingToken);
            return;
        }

        // The span continues the trace that the message carries: the request that made the change, and the publish.
        var parent = RabbitMQActivitySource.ContextExtractor(delivery.BasicProperties);
        using var span = tracing.Source.StartActivity($"process {delivery.RoutingKey}", ActivityKind.Consumer, parent);
        span?.SetTag("messaging.system", "rabbitmq");
        span?.SetTag("messaging.operation.type", "process");
        span?.SetTag("messaging.destination.name", Queue);
        span?.SetTag("messaging.message.id", envelope.Id.ToString());
        span?.SetTag("event.aggregate", envelope.AggregateId);
        span?.SetTag("event.version", envelope.Version);

        ApplyOutcome outcome;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            outcome = await scope.ServiceProvider.GetRequiredService<ReportProjection>().ApplyAsync(envelope, @event, stoppingToken);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            // The reports' database failed (switched off, locked too long): the message goes back to the
            // queue and comes again. Once more only, unless the database is known to be away: a message
            // that fails every time would otherwise hold up all the others.
            var requeue = !delivery.Redelivered || e is DatabaseUnavailableException || e.InnerException is DatabaseUnavailableException;
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

            await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue, CancellationToken.None);
            return;
        }

        await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false, CancellationToken.None);
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

    [LoggerMessage(LogLevel.Warning, "Could not apply {Type} {EventId}: {Problem}; {Outcome}")]
    private static partial void LogApplyFailed(ILogger logger, string type, Guid eventId, string problem, string outcome);

    [LoggerMessage(LogLevel.Debug, "Skipped {Type} {EventId}: applied before")]
    private static partial void LogDuplicate(ILogger logger, string type, Guid eventId);
}
