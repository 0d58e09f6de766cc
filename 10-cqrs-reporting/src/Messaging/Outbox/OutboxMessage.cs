using System.Diagnostics;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;

namespace Messaging.Outbox;

/// <summary>
/// An event waiting to be published, in the same SQLite file (and the same transaction) as the change
/// it describes: the change and its event are stored together or not at all. The relay publishes the
/// rows in the order of <see cref="Sequence"/> and sets <see cref="SentAt"/> once the broker has
/// confirmed each. Sent rows stay, as a record of what the service published.
/// </summary>
public sealed class OutboxMessage
{
    /// <summary>The order the events were recorded in.</summary>
    public long Sequence { get; set; }

    public Guid EventId { get; set; }

    public required string Type { get; set; }

    public required string AggregateId { get; set; }

    public int Version { get; set; }

    public DateTimeOffset OccurredAt { get; set; }

    /// <summary>The event as JSON.</summary>
    public required string Data { get; set; }

    /// <summary>The W3C trace context of the request that made the change, so the publish and the
    /// projection join its trace.</summary>
    public string? TraceParent { get; set; }

    public string? TraceState { get; set; }

    public DateTimeOffset? SentAt { get; set; }
}

public static class OutboxModel
{
    /// <summary>Adds the Outbox table to a service's model (its DbContext's OnModelCreating).</summary>
    public static ModelBuilder AddOutbox(this ModelBuilder modelBuilder)
    {
        var message = modelBuilder.Entity<OutboxMessage>();
        message.ToTable("Outbox");
        message.HasKey(m => m.Sequence);
        message.HasIndex(m => m.EventId).IsUnique();
        // The relay asks for the unsent rows: "WHERE SentAt IS NULL ORDER BY Sequence".
        message.HasIndex(m => new { m.SentAt, m.Sequence });
        return modelBuilder;
    }

    /// <summary>
    /// Records <paramref name="event"/> in the outbox of <paramref name="db"/>, to be saved with the
    /// change it describes (by the same SaveChanges, or within the same transaction).
    /// <paramref name="version"/> is the aggregate's version after the change.
    /// </summary>
    public static OutboxMessage RecordEvent<TEvent>(this DbContext db, string aggregateId, int version, TEvent @event)
        where TEvent : IIntegrationEvent
    {
        var message = new OutboxMessage
        {
            EventId = Guid.CreateVersion7(),
            Type = typeof(TEvent).Name,
            AggregateId = aggregateId,
            Version = version,
            OccurredAt = DateTimeOffset.UtcNow,
            Data = JsonSerializer.Serialize(@event, IntegrationEvents.Json),
            TraceParent = Activity.Current?.Id is { } id && Activity.Current.IdFormat == ActivityIdFormat.W3C ? id : null,
            TraceState = Activity.Current?.TraceStateString,
        };
        db.Set<OutboxMessage>().Add(message);
        return message;
    }
}
