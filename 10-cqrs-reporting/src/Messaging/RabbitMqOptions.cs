using System.ComponentModel.DataAnnotations;

namespace Messaging;

/// <summary>
/// Where the broker is. Bound from the "RabbitMq" section:
/// <code>"RabbitMq": { "Uri": "amqp://guest:guest@localhost:5672/", "RetryDelay": "00:00:01" }</code>
/// Override with RabbitMq__Uri (compose points it at the rabbitmq container).
/// </summary>
public sealed class RabbitMqOptions
{
    public const string SectionName = "RabbitMq";

    [Required(ErrorMessage = "RabbitMq:Uri must name the broker, such as amqp://guest:guest@localhost:5672/ (RabbitMq__Uri=...).")]
    public Uri? Uri { get; set; }

    /// <summary>How long to wait before connecting again after the broker could not be reached (doubling up to 5 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00", ErrorMessage = "RabbitMq:RetryDelay must be between 00:00:00.050 and 00:01:00, such as 00:00:01.")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The broker's address without its password, for log lines.</summary>
    public string Describe() => Uri is null ? "(none)" : $"{Uri.Scheme}://{Uri.Host}:{(Uri.IsDefaultPort ? 5672 : Uri.Port)}{Uri.AbsolutePath}";
}
