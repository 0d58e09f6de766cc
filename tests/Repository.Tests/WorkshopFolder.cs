using System.Net;
using System.Net.Sockets;

namespace Repository.Tests;

/// <summary>
/// A workshop folder of one step, made up for a test of the workshop command (WORKSHOP_ROOT names it):
/// the root files the command looks for, and a step "01-&lt;name&gt;" holding the files given.
/// </summary>
public sealed class WorkshopFolder : IDisposable
{
    private WorkshopFolder(string root, string step)
    {
        Root = root;
        Step = step;
    }

    public string Root { get; }

    /// <summary>The step's folder name, as `workshop up` prints it.</summary>
    public string Step { get; }

    /// <param name="files">Path relative to the step folder, to content.</param>
    public static WorkshopFolder Create(string name, IReadOnlyDictionary<string, string> files)
    {
        var root = Directory.CreateTempSubdirectory("workshop-folder-").FullName;
        Directory.CreateDirectory(Path.Combine(root, "tools", "Workshop"));
        File.WriteAllText(Path.Combine(root, "Directory.Packages.props"), "<Project />");
        File.WriteAllText(Path.Combine(root, "Directory.Build.props"), "<Project />");
        var step = "01-" + name;
        var all = new Dictionary<string, string>(files)
        {
            ["Workshop.slnx"] = "<Solution />",
            ["README.md"] = $"# Step 01: {name}\n",
        };
        foreach (var (path, content) in all)
        {
            var full = Path.Combine(root, step, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content);
        }

        return new WorkshopFolder(root, step);
    }

    /// <summary>A port nothing listens on, for a made-up service.</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>
/// A loopback port that something listens on (taking connections, answering nothing) until it is
/// disposed: a port another program holds.
/// </summary>
public sealed class HeldPort : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

    public HeldPort() => _listener.Start();

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public void Dispose() => _listener.Dispose();
}
