using RabbitMQ.Client;

namespace Messaging;

/// <summary>
/// The broker's exchanges and queues. Each service declares what it uses, with the same arguments
/// every time (a declaration that differs is refused by the broker):
/// <list type="bullet">
/// <item>the publishers: the topic exchange <see cref="IntegrationEvents.Exchange"/>;</item>
/// <item>a consumer: its durable queue, bound to the events it wants, and beside it a dead-letter
/// queue for the messages it cannot read, reached through the exchange <see cref="DeadLetterExchange"/>.</item>
/// </list>
/// </summary>
public static class Topology
{
    public const string DeadLetterExchange = "workshop.dead-letter";

    public static Task DeclareExchangeAsync(IChannel channel, CancellationToken cancellationToken) =>
        channel.ExchangeDeclareAsync(IntegrationEvents.Exchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: cancellationToken);

    /// <summary>The name of a queue's dead-letter queue: "reporting.events.dead-letter".</summary>
    public static string DeadLetterQueue(string queue) => $"{queue}.dead-letter";

    /// <summary>
    /// Declares <paramref name="queue"/> (durable), bound to <paramref name="routingKeys"/> of the
    /// events exchange; a message rejected without requeue goes to its dead-letter queue.
    /// </summary>
    public static async Task DeclareConsumerQueueAsync(IChannel channel, string queue, IEnumerable<string> routingKeys, CancellationToken cancellationToken)
    {
        await DeclareExchangeAsync(channel, cancellationToken);
        await channel.ExchangeDeclareAsync(DeadLetterExchange, ExchangeType.Direct, durable: true, autoDelete: false, cancellationToken: cancellationToken);

        var deadLetter = DeadLetterQueue(queue);
        await channel.QueueDeclareAsync(deadLetter, durable: true, exclusive: false, autoDelete: false, cancellationToken: cancellationToken);
        await channel.QueueBindAsync(deadLetter, DeadLetterExchange, routingKey: queue, cancellationToken: cancellationToken);

        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?>
            {
                ["x-dead-letter-exchange"] = DeadLetterExchange,
                ["x-dead-letter-routing-key"] = queue,
            },
            cancellationToken: cancellationToken);
        foreach (var key in routingKeys)
        {
            await channel.QueueBindAsync(queue, IntegrationEvents.Exchange, key, cancellationToken: cancellationToken);
        }
    }
}
