using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using ServiceDefaults.Telemetry;

namespace Messaging.Outbox;

/// <summary>
/// Publishes the outbox of <typeparamref name="TContext"/> to RabbitMQ, in the order the events were
/// recorded, and marks a row sent only after the broker confirmed it (publisher confirms). Messages are
/// persistent and mandatory: a message no queue would take comes back and stays in the outbox, so an
/// event published before the reporting service ever declared its queue is not dropped. While the broker
/// cannot be reached, the events wait in the outbox and the relay tries again (after 1 s, then up to
/// every 5 s); when it returns, the outbox drains. A crash between the confirm and the mark publishes
/// the event again on the next start: consumers get each event at least once and must skip repeats.
/// </summary>
public sealed partial class OutboxRelay<TContext>(
    IServiceScopeFactory scopes,
    OutboxSignal signal,
    IOptions<RabbitMqOptions> options,
    ServiceActivitySource tracing,
    ILogger<OutboxRelay<TContext>> logger) : BackgroundService
    where TContext : DbContext
{
    private const int BatchSize = 100;
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    private IConnection? _connection;
    private IChannel? _channel;
    private string? _problem;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // outbox_backlog is counted at each scrape too: while the broker is away the relay looks only
        // every few seconds, and the events written meanwhile must show at once.
        Metrics.DefaultRegistry.AddBeforeCollectCallback(CountBacklogAsync);
        var delay = options.Value.RetryDelay;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var published = await PublishBatchAsync(stoppingToken);
                if (_problem is not null)
                {
                    LogRecovered(logger, options.Value.Describe());
                    _problem = null;
                }

                delay = options.Value.RetryDelay;
                if (published < BatchSize)
                {
                    await signal.WaitAsync(PollInterval, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // Said once per kind of problem, not on every attempt: the broker down for a minute is one
                // line. A warning while events wait; with none waiting (a broker that starts after the
                // service), only information.
                var problem = Describe(e);
                var waiting = OutboxMetrics.Backlog.Value > 0;
                if ($"{problem} {waiting}" != _problem)
                {
                    if (waiting)
                    {
                        LogWaiting(logger, problem);
                    }
                    else
                    {
                        LogNotConnected(logger, problem);
                    }

                    _problem = $"{problem} {waiting}";
                }

                if (e is not PublishException { IsReturn: true })
                {
                    await CloseAsync();
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

        await CloseAsync();
    }

    private async Task CountBacklogAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<TContext>();
            OutboxMetrics.Backlog.Set(await db.Set<OutboxMessage>().CountAsync(m => m.SentAt == null, cancellationToken));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The database is away (switched off): the scrape shows the last count, and readiness says why.
        }
    }

    /// <summary>Publishes up to <see cref="BatchSize"/> unsent events; returns how many it published.</summary>
    private async Task<int> PublishBatchAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        var outbox = db.Set<OutboxMessage>();
        var pending = await outbox.AsNoTracking()
            .Where(m => m.SentAt == null)
            .OrderBy(m => m.Sequence)
            .Take(BatchSize)
            .ToListAsync(cancellationToken);
        OutboxMetrics.Backlog.Set(pending.Count < BatchSize ? pending.Count : await outbox.CountAsync(m => m.SentAt == null, cancellationToken));

        // Connected before the first event, so that it leaves as fast as the ones after it.
        var channel = await ChannelAsync(cancellationToken);
        if (pending.Count == 0)
        {
            return 0;
        }

        // The whole batch leaves at once, in order on the one channel, and its confirms are awaited
        // together: one round trip to the broker (and its disk) for the batch rather than one per event.
        var publishes = pending.Select(message => PublishAsync(channel, message, cancellationToken)).ToList();
        var sent = new List<long>(pending.Count);
        Exception? failure = null;
        for (var i = 0; i < pending.Count; i++)
        {
            try
            {
                await publishes[i];
                sent.Add(pending[i].Sequence);
            }
            catch (Exception e)
            {
                failure ??= e;
            }
        }

        // What the broker confirmed is marked sent, also when another message of the batch failed;
        // the one that failed stays in the outbox and goes again with the next batch.
        if (sent.Count > 0)
        {
            var now = DateTimeOffset.UtcNow;
            await outbox.Where(m => sent.Contains(m.Sequence))
                .ExecuteUpdateAsync(set => set.SetProperty(m => m.SentAt, now), CancellationToken.None);
            OutboxMetrics.Published.Inc(sent.Count);
            OutboxMetrics.Backlog.Dec(sent.Count);
        }

        if (failure is not null)
        {
            ExceptionDispatchInfo.Throw(failure);
        }

        return sent.Count;
    }

    private async Task PublishAsync(IChannel channel, OutboxMessage message, CancellationToken cancellationToken)
    {
        var routingKey = IntegrationEvents.RoutingKey(tracing.Source.Name, message.Type);
        var properties = new BasicProperties
        {
            MessageId = message.EventId.ToString(),
            Type = message.Type,
            ContentType = "application/json",
            DeliveryMode = DeliveryModes.Persistent,
            Timestamp = new AmqpTimestamp(message.OccurredAt.ToUnixTimeSeconds()),
            AppId = tracing.Source.Name,
            Headers = new Dictionary<string, object?>(),
        };

        // The publish is a span of the trace of the request that made the change (its context was
        // stored with the event), and the message carries the publish span's context on to the consumer.
        ActivityContext.TryParse(message.TraceParent, message.TraceState, out var parent);
        using var span = tracing.Source.StartActivity($"publish {routingKey}", ActivityKind.Producer, parent);
        span?.SetTag("messaging.system", "rabbitmq");
        span?.SetTag("messaging.operation.type", "send");
        span?.SetTag("messaging.destination.name", IntegrationEvents.Exchange);
        span?.SetTag("messaging.rabbitmq.destination.routing_key", routingKey);
        span?.SetTag("messaging.message.id", properties.MessageId);
        if (span is not null)
        {
            RabbitMQActivitySource.ContextInjector(span, properties.Headers);
        }
        else if (message.TraceParent is not null)
        {
            properties.Headers["traceparent"] = message.TraceParent;
        }

        var envelope = new EventEnvelope(
            message.EventId, message.Type, message.AggregateId, message.Version, message.OccurredAt,
            JsonDocument.Parse(message.Data).RootElement);
        var body = JsonSerializer.SerializeToUtf8Bytes(envelope, IntegrationEvents.Json);

        // With confirmation tracking on, this completes once the broker has taken the message, and throws
        // a PublishException when it refused it (nack) or could route it to no queue (return).
        await channel.BasicPublishAsync(IntegrationEvents.Exchange, routingKey, mandatory: true, properties, body, cancellationToken);
    }

    private async Task<IChannel> ChannelAsync(CancellationToken cancellationToken)
    {
        if (_channel is { IsOpen: true })
        {
            return _channel;
        }

        await CloseAsync();
        var factory = new ConnectionFactory
        {
            Uri = options.Value.Uri!,
            ClientProvidedName = $"{tracing.Source.Name} outbox relay",
            // The relay reconnects by itself, at its own pace, and declares what it needs each time.
            AutomaticRecoveryEnabled = false,
            RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
        };
        _connection = await factory.CreateConnectionAsync(cancellationToken);
        _channel = await _connection.CreateChannelAsync(
            new CreateChannelOptions(
                publisherConfirmationsEnabled: true,
                publisherConfirmationTrackingEnabled: true,
                // A batch in flight at once, never slowed: the client's default limiter (128) delays each
                // publish once more than half of its permits are taken, which a batch of 100 would reach.
                outstandingPublisherConfirmationsRateLimiter: new ThrottlingRateLimiter(2 * BatchSize)),
            cancellationToken);
        await Topology.DeclareExchangeAsync(_channel, cancellationToken);
        LogConnected(logger, options.Value.Describe());
        return _channel;
    }

    private async Task CloseAsync()
    {
        try
        {
            if (_channel is not null)
            {
                await _channel.DisposeAsync();
            }

            if (_connection is not null)
            {
                await _connection.DisposeAsync();
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A connection the broker already dropped may fail to close: it is gone either way.
        }

        _channel = null;
        _connection = null;
    }

    private string Describe(Exception e) => e switch
    {
        PublishException { IsReturn: true } =>
            $"no queue takes the events on {IntegrationEvents.Exchange} yet (is the reporting service started?)",
        PublishException => "the broker refused an event (nack)",
        BrokerUnreachableException => $"RabbitMQ at {options.Value.Describe()} does not answer",
        AlreadyClosedException or OperationInterruptedException => $"the connection to RabbitMQ at {options.Value.Describe()} was lost",
        _ => $"{e.GetType().Name}: {e.Message}",
    };

    [LoggerMessage(LogLevel.Information, "Outbox relay connected to RabbitMQ at {Broker}")]
    private static partial void LogConnected(ILogger logger, string broker);

    [LoggerMessage(LogLevel.Warning, "Outbox relay waiting: {Problem}; the events stay in the outbox and are published once it is solved")]
    private static partial void LogWaiting(ILogger logger, string problem);

    [LoggerMessage(LogLevel.Information, "Outbox relay not connected: {Problem}; no event waits, and it tries again")]
    private static partial void LogNotConnected(ILogger logger, string problem);

    [LoggerMessage(LogLevel.Information, "Outbox relay publishing again through RabbitMQ at {Broker}")]
    private static partial void LogRecovered(ILogger logger, string broker);
}
