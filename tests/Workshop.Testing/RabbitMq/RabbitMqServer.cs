using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Workshop.Testing.RabbitMq;

/// <summary>
/// A real RabbitMQ broker (the installed <c>rabbitmq-server</c>, <see cref="Require"/>) started as a
/// plain process, not a system service: its own node name, its own free loopback ports (AMQP and Erlang
/// distribution) and its own data, log and cookie in a temporary folder, so that several can run side
/// by side and beside a system broker on 5672. No plugin is enabled (no management UI, nothing on 15672):
/// the tests look at queues over AMQP, as the services do.
/// </summary>
/// <remarks>
/// Erlang finds nodes through EPMD on port 4369. The first node starts it as a daemon and it stays after
/// every node has gone; the nodes of other tests (and a system RabbitMQ) share it, each under its own name.
/// It is not a broker and holds no data, so <see cref="DisposeAsync"/> leaves it running.
/// </remarks>
public sealed class RabbitMqServer : IAsyncDisposable
{
    public const string Install = "apt-get install rabbitmq-server";

    /// <summary>
    /// Debian's and Ubuntu's package put the real start script here; the <c>rabbitmq-server</c> on root's
    /// PATH (/usr/sbin) is a wrapper that switches to the rabbitmq user and its /var/lib folder, which
    /// would ignore this server's folder.
    /// </summary>
    private const string DebianScript = "/usr/lib/rabbitmq/bin/rabbitmq-server";

    // 5 to 8 s on two cores (Erlang VM, feature flags, Mnesia, the boot steps), 13 s with the cores busy.
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    // RabbitMQ closes its connections and message stores in about 2 s on SIGTERM.
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    private readonly string _directory;
    private readonly int _distributionPort;
    private readonly ConcurrentQueue<string> _log = new();
    private Process? _process;
    private Process? _beam;

    private RabbitMqServer(string directory, int port, int distributionPort, string nodeName)
    {
        _directory = directory;
        _distributionPort = distributionPort;
        Port = port;
        NodeName = nodeName;
        AmqpUri = new Uri($"amqp://guest:guest@127.0.0.1:{port}/");
    }

    /// <summary>
    /// Where the services connect: the default user guest, which RabbitMQ lets in from loopback only
    /// (as here), and the default virtual host "/".
    /// </summary>
    public Uri AmqpUri { get; }

    /// <summary>The AMQP port on 127.0.0.1. It stays the same across <see cref="StopAsync"/> and <see cref="StartAgainAsync"/>.</summary>
    public int Port { get; }

    /// <summary>
    /// The Erlang node name (test-…@localhost), unique to this server. Its data folder is named after it,
    /// which is why a start again keeps it; it is also on the VM's command line, for <c>pgrep -f</c>.
    /// </summary>
    public string NodeName { get; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Skips (or, on CI, fails) the test unless rabbitmq-server is installed.</summary>
    public static void Require()
    {
        if (Find() is not null)
        {
            return;
        }

        var message = $"this test needs rabbitmq-server ({Install})";
        Assert.False(Environment.GetEnvironmentVariable("CI") is "true" or "1", message);
        Assert.Skip(message);
    }

    /// <summary>The start script: Debian's real one, else the first on PATH (Homebrew, the generic Unix build); null when not installed.</summary>
    public static string? Find() =>
        File.Exists(DebianScript)
            ? DebianScript
            : (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                .Select(dir => Path.Combine(dir, "rabbitmq-server"))
                .FirstOrDefault(File.Exists);

    /// <summary>
    /// Starts a new broker with empty data and returns once it accepts an AMQP connection as guest: what
    /// the tests need, and more than an open port shows (the node's name is checked too).
    /// </summary>
    public static async Task<RabbitMqServer> StartAsync()
    {
        Require();
        var directory = Directory.CreateTempSubdirectory("rabbitmq-").FullName;

        // No plugin: an empty list, rather than the system's /etc/rabbitmq/enabled_plugins.
        await File.WriteAllTextAsync(Path.Combine(directory, "enabled_plugins"), "[].\n");
        var nodeName = $"test-{Guid.NewGuid():N}"[..17] + "@localhost";
        var port = FreePort();
        var distributionPort = FreePort();
        while (distributionPort == port)
        {
            distributionPort = FreePort();
        }

        var server = new RabbitMqServer(directory, port, distributionPort, nodeName);
        try
        {
            await server.RunAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>
    /// Stops the broker as `systemctl stop` or `docker stop` would (SIGTERM: it closes its connections and
    /// flushes its message stores), and returns once the AMQP port refuses connections and EPMD has
    /// forgotten the node name, so that <see cref="StartAgainAsync"/> can take both again. The data stays.
    /// </summary>
    public async Task StopAsync()
    {
        if (_process is not null && !_process.HasExited)
        {
            // The script traps SIGTERM, passes it to the VM and waits for it, so its exit is the VM's.
            _ = Kill(_process.Id, SigTerm);
            using var timeout = new CancellationTokenSource(StopTimeout);
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _log.Enqueue($"--- rabbitmq-server was still running {StopTimeout.TotalSeconds:0} s after SIGTERM: killed ---");
                await KillAsync();
            }
        }

        await KillAsync();
        await WaitUntilAsync(async () => !await AcceptsAsync(Port), TimeSpan.FromSeconds(10), $"port {Port} still accepted connections after {NodeName} stopped");
        await WaitUntilAsync(async () => !(await EpmdNamesAsync()).Contains(ShortName), TimeSpan.FromSeconds(10), $"EPMD still listed {ShortName} after it stopped");
    }

    /// <summary>
    /// Starts the stopped broker again with the same node name, port and data folder: durable queues and
    /// the persistent messages in them are there again (transient ones are gone, as after any restart).
    /// Fails, with the log, should something else have taken the port meanwhile.
    /// </summary>
    public async Task StartAgainAsync()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"{NodeName} is running; stop it first.");
        }

        await RunAsync();
    }

    /// <summary>
    /// The messages ready in a queue, from a passive declare (as the management UI's "Ready"): without
    /// those delivered to a consumer and not yet acknowledged. Fails when there is no such queue.
    /// </summary>
    public async Task<uint> MessageCountAsync(string queue)
    {
        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
        {
            throw new InvalidOperationException($"{NodeName} has no queue '{queue}' (in the virtual host /).", e);
        }
    }

    /// <summary>
    /// Reads up to <paramref name="max"/> messages from the head of a queue without taking them: each is
    /// fetched with basic.get and not acknowledged, then all are given back (basic.nack, requeue), so they
    /// return to where they were, in order. RabbitMQ marks them redelivered for whoever consumes them next,
    /// and messages a consumer holds unacknowledged are not seen. The bodies are copies.
    /// </summary>
    public async Task<IReadOnlyList<(IReadOnlyBasicProperties Properties, byte[] Body)>> PeekAsync(string queue, int max)
    {
        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var messages = new List<(IReadOnlyBasicProperties, byte[])>();
        ulong last = 0;
        try
        {
            while (messages.Count < max && await channel.BasicGetAsync(queue, autoAck: false) is { } message)
            {
                // A copy, so nothing depends on the client's buffers once the channel has closed.
                messages.Add((new BasicProperties(message.BasicProperties), message.Body.ToArray()));
                last = message.DeliveryTag;
            }
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
        {
            throw new InvalidOperationException($"{NodeName} has no queue '{queue}' (in the virtual host /).", e);
        }

        if (last != 0)
        {
            await channel.BasicNackAsync(last, multiple: true, requeue: true);
        }

        return messages;
    }

    /// <summary>
    /// Publishes one message and returns once the broker has confirmed it (so it is in the queue, and on
    /// disk if persistent), as a test's injected message (a poison one, say) must be there before the test
    /// goes on. The publish is mandatory: a message no queue takes fails here rather than vanishing.
    /// Without <paramref name="properties"/> the message is persistent, to outlive a restart.
    /// </summary>
    public async Task PublishAsync(string exchange, string routingKey, byte[] body, BasicProperties? properties = null)
    {
        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        try
        {
            await channel.BasicPublishAsync(exchange, routingKey, mandatory: true, properties ?? new BasicProperties { Persistent = true }, body);
        }
        catch (PublishException e)
        {
            throw new InvalidOperationException(
                $"{NodeName} did not take the message for exchange '{exchange}', routing key '{routingKey}' "
                + (e.IsReturn ? "(returned: no queue is bound for it)." : "(nacked)."), e);
        }
    }

    /// <summary>
    /// A new AMQP connection to this broker, without automatic recovery (a test that stops the broker wants
    /// to see the connection go, not have it come back by itself). The caller disposes it.
    /// </summary>
    public Task<IConnection> ConnectAsync() => Factory(TimeSpan.FromSeconds(30)).CreateConnectionAsync();

    /// <summary>
    /// Adds a user with every permission (configure, write, read) on the virtual host "/", as the
    /// rabbitmq image creates the one its RABBITMQ_DEFAULT_USER and RABBITMQ_DEFAULT_PASS name (instead of
    /// guest): a compose file's services connect as that user, with its password, so a stand-in for the
    /// image must know it. guest stays here, for <see cref="AmqpUri"/> and the helpers above. The user is
    /// kept in the node's data, so a <see cref="StartAgainAsync"/> finds it again.
    /// </summary>
    /// <remarks>
    /// Done with the broker's own rabbitmqctl, next to the start script, as an operator would; it reaches
    /// this node over Erlang distribution, so it runs with this server's HOME (the same cookie) and none
    /// of /etc/rabbitmq. The password is on its command line, visible to ps: for test credentials only.
    /// About a second per command (the CLI starts an Erlang VM of its own).
    /// </remarks>
    public async Task AddUserAsync(string user, string password)
    {
        if (!IsRunning)
        {
            throw new InvalidOperationException($"{NodeName} is not running; start it first.");
        }

        await RunCtlAsync($"add_user {user}", "add_user", user, password);
        await RunCtlAsync($"set_permissions {user}", "set_permissions", "-p", "/", user, ".*", ".*", ".*");
    }

    /// <summary>What the broker logged (it logs to its output here) across its starts, for a failure's message.</summary>
    public string Tail(int lines = 30) => $"--- last log lines of rabbitmq-server {NodeName} ---\n" + string.Join('\n', _log.TakeLast(lines));

    /// <summary>Stops the broker (killing it and its children if it does not stop in time) and deletes its folder.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (TimeoutException)
        {
            // Stopped and killed already; a port or name slow to be released is no reason to fail a test's cleanup.
        }
        finally
        {
            await KillAsync();
            _process?.Dispose();
            _beam?.Dispose();
            _process = _beam = null; // a second DisposeAsync (a test's own, then its await using) finds nothing to do
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // A file still being closed: the temporary folder is the system's to clean.
            }
        }
    }

    private string ShortName => NodeName[..NodeName.IndexOf('@')];

    private ConnectionFactory Factory(TimeSpan timeout) => new()
    {
        Uri = AmqpUri,
        AutomaticRecoveryEnabled = false,
        TopologyRecoveryEnabled = false,
        RequestedConnectionTimeout = timeout,
        ClientProvidedName = "Workshop.Testing",
    };

    /// <summary>Starts the script with this server's environment and waits until the broker takes connections.</summary>
    private async Task RunAsync()
    {
        var start = new ProcessStartInfo(Find() ?? throw new InvalidOperationException($"rabbitmq-server is not installed ({Install})"))
        {
            WorkingDirectory = _directory, // where the VM would write erl_crash.dump
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // Nothing from the test run's own environment (a developer's RABBITMQ_NODENAME, say) may reach it.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("RABBITMQ_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        // The Erlang cookie: the VM creates ~/.erlang.cookie, which must be writable and is best not shared.
        start.Environment["HOME"] = _directory;
        start.Environment["RABBITMQ_NODENAME"] = NodeName;
        start.Environment["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1";
        start.Environment["RABBITMQ_NODE_PORT"] = Port.ToString();
        start.Environment["RABBITMQ_DIST_PORT"] = _distributionPort.ToString();
        // Data in <base>/<node name>: the same name finds it again after a stop.
        start.Environment["RABBITMQ_MNESIA_BASE"] = Path.Combine(_directory, "mnesia");
        start.Environment["RABBITMQ_LOG_BASE"] = Path.Combine(_directory, "log");
        // The log on the output, read into Tail(): nothing to find in a file when a start fails.
        start.Environment["RABBITMQ_LOGS"] = "-";
        // None of /etc/rabbitmq: these files do not exist, so the broker runs on its defaults.
        start.Environment["RABBITMQ_CONF_ENV_FILE"] = Path.Combine(_directory, "rabbitmq-env.conf");
        start.Environment["RABBITMQ_CONFIG_FILE"] = Path.Combine(_directory, "rabbitmq");
        start.Environment["RABBITMQ_ADVANCED_CONFIG_FILE"] = Path.Combine(_directory, "advanced.config");
        start.Environment["RABBITMQ_CONFIG_FILES"] = Path.Combine(_directory, "conf.d", "*.conf"); // else /etc/rabbitmq/conf.d
        start.Environment["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(_directory, "enabled_plugins");
        start.Environment["RABBITMQ_PID_FILE"] = Path.Combine(_directory, "rabbitmq.pid");
        // Erlang distribution on loopback only too (EPMD as well, when this node is the one to start it).
        // The last flag means nothing to Erlang: it puts the node name on the VM's command line.
        start.Environment["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = $"-kernel inet_dist_use_interface {{127,0,0,1}} -workshop_node {NodeName}";
        start.Environment["ERL_EPMD_ADDRESS"] = "127.0.0.1";

        var watch = Stopwatch.StartNew();
        var process = Process.Start(start) ?? throw new InvalidOperationException("rabbitmq-server did not start");
        _process?.Dispose();
        _process = process;
        _log.Enqueue($"--- rabbitmq-server {NodeName} started (pid {process.Id}) ---");
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        await WaitUntilReadyAsync(process, watch);
        _beam?.Dispose();
        _beam = FindBeam();
        _log.Enqueue($"--- {NodeName} took connections after {watch.Elapsed.TotalSeconds:0.0} s ---");
    }

    /// <summary>
    /// Runs rabbitmqctl against this node and fails, with its output and the broker's log, unless it exits
    /// with 0. <paramref name="what"/> names the command in that message, which must not show a password.
    /// </summary>
    private async Task RunCtlAsync(string what, params string[] arguments)
    {
        var script = Find() ?? throw new InvalidOperationException($"rabbitmq-server is not installed ({Install})");
        var start = new ProcessStartInfo(Path.Combine(Path.GetDirectoryName(script)!, "rabbitmqctl"))
        {
            WorkingDirectory = _directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-n");
        start.ArgumentList.Add(NodeName);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // As for the server (RunAsync): nothing of the test run's RABBITMQ_ variables, the cookie the
        // server's VM created in its HOME (else the node refuses the CLI), and no /etc/rabbitmq/rabbitmq-env.conf.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("RABBITMQ_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["HOME"] = _directory;
        start.Environment["RABBITMQ_CONF_ENV_FILE"] = Path.Combine(_directory, "rabbitmq-env.conf");
        start.Environment["ERL_EPMD_ADDRESS"] = "127.0.0.1";

        using var process = Process.Start(start) ?? throw new InvalidOperationException("rabbitmqctl did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(StartTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"rabbitmqctl {what} did not finish within {StartTimeout.TotalSeconds:0} s.\n{Tail()}");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"rabbitmqctl {what} on {NodeName} exited with code {process.ExitCode}:\n{await output}{await error}\n{Tail()}");
        }
    }

    private async Task WaitUntilReadyAsync(Process process, Stopwatch watch)
    {
        var factory = Factory(TimeSpan.FromSeconds(5));
        var last = "";
        while (watch.Elapsed < StartTimeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"rabbitmq-server exited with code {process.ExitCode} while starting.\n{Tail()}");
            }

            try
            {
                await using var connection = await factory.CreateConnectionAsync();

                // Guards against a port taken by another broker between FreePort() and this start. Unless
                // configured, the cluster name is the node's short name at the machine's host name
                // (test-…@vm), not the node name (test-…@localhost): the short name is what is unique.
                var name = connection.ServerProperties?.TryGetValue("cluster_name", out var value) == true && value is byte[] bytes
                    ? Encoding.UTF8.GetString(bytes)
                    : "";
                if (!name.StartsWith(ShortName + "@", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"port {Port} is answered by another broker ('{name}'), not {NodeName}.\n{Tail()}");
                }

                return;
            }
            catch (BrokerUnreachableException e)
            {
                last = e.InnerException?.Message ?? e.Message;
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException(
            $"rabbitmq-server did not take connections on port {Port} within {StartTimeout.TotalSeconds:0} s (last: {last}).\n{Tail()}");
    }

    /// <summary>
    /// The Erlang VM, from the pid file the broker writes while booting: normally it ends with the script,
    /// but should the script be gone first, this is what must still be killed.
    /// </summary>
    private Process? FindBeam()
    {
        try
        {
            var pid = int.Parse(File.ReadAllText(Path.Combine(_directory, "rabbitmq.pid")).Trim());
            return Process.GetProcessById(pid);
        }
        catch (Exception e) when (e is IOException or FormatException or ArgumentException)
        {
            return null;
        }
    }

    private async Task KillAsync()
    {
        foreach (var process in new[] { _process, _beam })
        {
            try
            {
                if (process is not null && !process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                    await process.WaitForExitAsync(timeout.Token);
                }
            }
            catch (InvalidOperationException)
            {
                // It ended on its own meanwhile.
            }
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string failure)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            if (watch.Elapsed > timeout)
            {
                throw new TimeoutException($"{failure} (waited {timeout.TotalSeconds:0} s)");
            }

            await Task.Delay(50);
        }
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port).WaitAsync(TimeSpan.FromSeconds(2));
            return true;
        }
        catch (Exception e) when (e is SocketException or TimeoutException)
        {
            return false;
        }
    }

    /// <summary>
    /// The node names EPMD knows (its NAMES_REQ, what `epmd -names` prints): a node's name is free again
    /// only once it is off this list. None when no EPMD runs.
    /// </summary>
    private static async Task<IReadOnlyList<string>> EpmdNamesAsync()
    {
        var port = int.TryParse(Environment.GetEnvironmentVariable("ERL_EPMD_PORT"), out var p) ? p : 4369;
        using var client = new TcpClient();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(new byte[] { 0, 1, (byte)'n' }, timeout.Token);
            using var answer = new MemoryStream();
            await stream.CopyToAsync(answer, timeout.Token);

            // EPMD's own port (4 bytes), then a line "name <name> at port <port>" per node.
            return Encoding.ASCII.GetString(answer.ToArray().AsSpan(Math.Min(4, (int)answer.Length)))
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split(' ') is ["name", var name, ..] ? name : "")
                .ToList();
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return [];
        }
    }

    private void OnLine(string? line)
    {
        if (line is not null)
        {
            _log.Enqueue(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
