namespace Workshop.Steps;

/// <summary>
/// A web proxy set in the environment (<c>http_proxy</c>, <c>HTTP_PROXY</c>, <c>all_proxy</c>) is there
/// for the internet, but .NET and curl send even a call to localhost through it unless <c>NO_PROXY</c>
/// lists localhost, and the proxy cannot reach this machine's services. Then `workshop up` would wait
/// in vain for a healthy service, and `workshop check` would fail.
/// So the workshop command adds localhost to <c>NO_PROXY</c> (and <c>no_proxy</c>) for itself and for
/// every process it starts, and says how to do the same for the attendee's own curl commands.
/// </summary>
public static class LocalhostProxy
{
    private static readonly string[] ProxyVariables = ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"];
    private static readonly string[] BypassVariables = ["no_proxy", "NO_PROXY"];
    private static readonly string[] Loopback = ["localhost", "127.0.0.1", "::1"];

    /// <summary>
    /// What <see cref="Bypass"/> found: the proxy variable that was set while NO_PROXY did not list
    /// localhost, and the NO_PROXY value it set instead; null when localhost was listed or no proxy set.
    /// </summary>
    private static (string Variable, string NoProxy)? _bypassed;

    /// <summary>
    /// Where a proxy is set, adds localhost, 127.0.0.1 and ::1 to NO_PROXY in this process's environment,
    /// which the processes it starts inherit. To run before any HttpClient of this process sends a request:
    /// .NET reads the variables once, at the first one. The repository's test projects call it too.
    /// </summary>
    public static void Bypass()
    {
        var proxy = ProxyVariables.FirstOrDefault(name => Environment.GetEnvironmentVariable(name) is { Length: > 0 });
        var listed = BypassVariables
            .SelectMany(name => (Environment.GetEnvironmentVariable(name) ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();
        var missing = Loopback.Except(listed, StringComparer.OrdinalIgnoreCase).ToList();
        if (proxy is null || listed.Contains("*") || missing.Count == 0)
        {
            return;
        }

        var noProxy = string.Join(",", listed.Concat(missing));
        foreach (var name in BypassVariables)
        {
            Environment.SetEnvironmentVariable(name, noProxy);
        }

        // The READMEs' commands and the services' addresses say localhost: without it, the attendee's own calls go to the proxy.
        if (missing.Contains("localhost"))
        {
            _bypassed = (proxy, noProxy);
        }
    }

    /// <summary>What up, check and doctor say when <see cref="Bypass"/> added localhost: that it did, and how the attendee does it.</summary>
    public static void WarnIfBypassed()
    {
        if (_bypassed is ({ } variable, { } noProxy))
        {
            Ui.Warn($"{variable} is set and NO_PROXY does not list localhost: curl and .NET would send calls to this machine's services "
                + $"to that proxy. workshop goes around it for itself and the services it starts; for your own commands, run {ShellCommand(noProxy)}");
        }
    }

    /// <summary>The command that makes the attendee's own shell send localhost calls around the proxy too.</summary>
    private static string ShellCommand(string noProxy) => OperatingSystem.IsWindows()
        ? $"`$env:NO_PROXY = '{noProxy}'` (PowerShell) or `set NO_PROXY={noProxy}` (cmd)"
        : $"`export no_proxy='{noProxy}' NO_PROXY='{noProxy}'`";
}
