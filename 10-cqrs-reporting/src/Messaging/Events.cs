using System.Text.Json;
using System.Text.Json.Serialization;

namespace Messaging;

/// <summary>
/// What happened in a service that others may want to know: a past-tense record carrying the state of
/// the aggregate after the change (not only the difference), so that a reader that missed or reordered
/// an event can still trust the newest one it applied.
/// </summary>
public interface IIntegrationEvent;

/// <summary>users: a user was created.</summary>
public sealed record UserCreated(int UserId, string Name, string Email) : IIntegrationEvent;

/// <summary>users: a user's name or email changed; the values after the change.</summary>
public sealed record UserChanged(int UserId, string Name, string Email) : IIntegrationEvent;

/// <summary>accounts: an account was opened for a user, with its initial balance.</summary>
public sealed record AccountOpened(int AccountId, int UserId, decimal Balance) : IIntegrationEvent;

/// <summary>accounts: money moved (Amount, negative for a withdrawal); Balance is the balance after it.</summary>
public sealed record BalanceChanged(int AccountId, int UserId, decimal Amount, decimal Balance) : IIntegrationEvent;

/// <summary>
/// An event as it travels: its own id (the same on every redelivery), its type, the aggregate it
/// concerns ("user-7", "account-3") and that aggregate's version after the change (1, 2, 3 ... per
/// aggregate), when it happened, and the event itself. The W3C trace context travels beside it, in the
/// message's headers.
/// </summary>
public sealed record EventEnvelope(Guid Id, string Type, string AggregateId, int Version, DateTimeOffset OccurredAt, JsonElement Data);

/// <summary>The events by name: the name travels in the envelope and as the message's type and routing key.</summary>
public static class IntegrationEvents
{
    /// <summary>The exchange every service publishes its events to (a durable topic exchange).</summary>
    public const string Exchange = "workshop.events";

    public static readonly IReadOnlyDictionary<string, Type> Types = new Dictionary<string, Type>(StringComparer.Ordinal)
    {
        [nameof(UserCreated)] = typeof(UserCreated),
        [nameof(UserChanged)] = typeof(UserChanged),
        [nameof(AccountOpened)] = typeof(AccountOpened),
        [nameof(BalanceChanged)] = typeof(BalanceChanged),
    };

    /// <summary>
    /// JSON as the APIs write it: camelCase names. Read strictly: an unknown or missing field, or a null
    /// where the event has none, makes the message unreadable rather than an event with holes.
    /// </summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    /// <summary>The routing key of an event: the publishing service and the event ("users.UserCreated").</summary>
    public static string RoutingKey(string service, string type) => $"{service}.{type}";
}
