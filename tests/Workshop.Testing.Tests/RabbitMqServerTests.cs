using System.Diagnostics;
using System.Text;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Workshop.Testing.RabbitMq;

namespace Workshop.Testing.Tests;

/// <summary>
/// The real RabbitMQ that step 10's tests start: what they rely on from it. Each test starts its own
/// broker (about 5 s), so there are few of them and each checks a whole story. Skipped where
/// rabbitmq-server is not installed; on CI they fail instead (<see cref="RabbitMqServer.Require"/>).
/// </summary>
public sealed class RabbitMqServerTests
{
    [Fact]
    public async Task StopAndStartAgain_KeepTheDurableQueue_AndItsPersistentMessage()
    {
        RabbitMqServer.Require();
        await using var rabbit = await RabbitMqServer.StartAsync();
        Assert.Equal(new Uri($"amqp://guest:guest@127.0.0.1:{rabbit.Port}/"), rabbit.AmqpUri);
        await DeclareDurableQueueAsync(rabbit, "orders");

        await rabbit.PublishAsync("", "orders", "order 1"u8.ToArray());
        Assert.Equal(1u, await rabbit.MessageCountAsync("orders"));
        var peeked = Assert.Single(await rabbit.PeekAsync("orders", 10));
        Assert.Equal("order 1", Encoding.UTF8.GetString(peeked.Body));
        Assert.True(peeked.Properties.Persistent, "PublishAsync sends persistent messages unless told otherwise");
        Assert.Equal(1u, await rabbit.MessageCountAsync("orders")); // a peek takes nothing

        await rabbit.StopAsync();
        Assert.False(rabbit.IsRunning);
        await Assert.ThrowsAsync<BrokerUnreachableException>(rabbit.ConnectAsync);

        await rabbit.StartAgainAsync();
        Assert.True(rabbit.IsRunning);
        Assert.Equal(1u, await rabbit.MessageCountAsync("orders"));
        Assert.Equal("order 1", Encoding.UTF8.GetString(Assert.Single(await rabbit.PeekAsync("orders", 10)).Body));
    }

    [Fact]
    public async Task TwoServers_RunSideBySide_EachWithItsOwnPortNodeAndQueues()
    {
        RabbitMqServer.Require();
        var starting = new[] { RabbitMqServer.StartAsync(), RabbitMqServer.StartAsync() };
        try
        {
            await Task.WhenAll(starting);
        }
        catch
        {
            // The one that started must not be left running.
            foreach (var started in starting.Where(s => s.IsCompletedSuccessfully))
            {
                await (await started).DisposeAsync();
            }

            throw;
        }

        await using var first = await starting[0];
        await using var second = await starting[1];
        Assert.NotEqual(first.Port, second.Port);
        Assert.NotEqual(first.NodeName, second.NodeName);

        await DeclareDurableQueueAsync(first, "events");
        await first.PublishAsync("", "events", "a"u8.ToArray());
        await first.PublishAsync("", "events", "b"u8.ToArray());
        Assert.Equal(["a", "b"], (await first.PeekAsync("events", 10)).Select(m => Encoding.UTF8.GetString(m.Body)));
        Assert.Equal("a", Encoding.UTF8.GetString(Assert.Single(await first.PeekAsync("events", 1)).Body));

        // The other broker has no such queue: counting fails, and a publish no queue takes is refused.
        var missing = await Assert.ThrowsAsync<InvalidOperationException>(() => second.MessageCountAsync("events"));
        Assert.Contains("no queue 'events'", missing.Message);
        var unroutable = await Assert.ThrowsAsync<InvalidOperationException>(() => second.PublishAsync("", "events", "c"u8.ToArray()));
        Assert.Contains("returned", unroutable.Message);
        Assert.Equal(2u, await first.MessageCountAsync("events"));
    }

    /// <summary>
    /// What a compose file's rabbitmq stand-in relies on: the user the image would create from
    /// RABBITMQ_DEFAULT_USER and RABBITMQ_DEFAULT_PASS connects with its password and has every
    /// permission on "/" (it declares a queue and publishes to it), and a wrong password is refused.
    /// </summary>
    [Fact]
    public async Task AddUser_ConnectsWithItsPassword_AndDeclaresAndPublishesOnTheDefaultVirtualHost()
    {
        RabbitMqServer.Require();
        await using var rabbit = await RabbitMqServer.StartAsync();
        await rabbit.AddUserAsync("workshop", "workshop-dev");

        var uri = new Uri($"amqp://workshop:workshop-dev@127.0.0.1:{rabbit.Port}/");
        await using (var connection = await new ConnectionFactory { Uri = uri, AutomaticRecoveryEnabled = false }.CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true)))
        {
            await channel.QueueDeclareAsync("events", durable: true, exclusive: false, autoDelete: false);
            await channel.BasicPublishAsync("", "events", mandatory: true, new BasicProperties { Persistent = true }, "from workshop"u8.ToArray());
        }

        Assert.Equal("from workshop", Encoding.UTF8.GetString(Assert.Single(await rabbit.PeekAsync("events", 10)).Body));

        var wrong = new Uri($"amqp://workshop:not-the-password@127.0.0.1:{rabbit.Port}/");
        var refused = await Assert.ThrowsAsync<BrokerUnreachableException>(
            () => new ConnectionFactory { Uri = wrong, AutomaticRecoveryEnabled = false }.CreateConnectionAsync());
        Assert.True(
            refused.InnerException is AuthenticationFailureException,
            $"a wrong password should fail the login, not the connection: {refused.InnerException}");
    }

    [Fact]
    public async Task Dispose_LeavesNoErlangProcessOfTheNode()
    {
        RabbitMqServer.Require();
        var rabbit = await RabbitMqServer.StartAsync();
        var node = rabbit.NodeName;
        Assert.NotEmpty(await PgrepAsync(node)); // else the check below would prove nothing

        await rabbit.DisposeAsync();

        var left = await PgrepAsync(node);
        Assert.True(left.Count == 0, $"processes of {node} are still running: {string.Join(", ", left)}");
    }

    private static async Task DeclareDurableQueueAsync(RabbitMqServer rabbit, string queue)
    {
        await using var connection = await rabbit.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
    }

    /// <summary>The pids whose command line mentions <paramref name="text"/> (pgrep from procps).</summary>
    private static async Task<IReadOnlyList<string>> PgrepAsync(string text)
    {
        var start = new ProcessStartInfo("pgrep") { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("-f");
        start.ArgumentList.Add(text);
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await process.WaitForExitAsync(timeout.Token);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
