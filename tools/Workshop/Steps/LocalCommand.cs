namespace Workshop.Steps;

/// <summary>
/// How `workshop up` runs one service of a step as a local process: one of the step's own .NET
/// services, or a piece of infrastructure from a program installed on this machine.
/// </summary>
public sealed record LocalCommand(
    string Name,
    int Port,
    string Url,
    string Program,
    IReadOnlyList<string> Arguments,
    string WorkingDirectory,
    IReadOnlyDictionary<string, string> Environment,
    string? ReadyUrl,
    bool IsInfrastructure)
{
    /// <summary>What <see cref="RunningServices"/> waits for before it calls the service started.</summary>
    public string ReadyDescription => ReadyUrl is null ? $"accept connections on port {Port}" : $"answer {ReadyUrl}";

    /// <summary>The service's Debug build, in the Development environment, on its documented port.</summary>
    public static LocalCommand ForApp(AppService app, IReadOnlyDictionary<string, string> environment)
    {
        var dll = Path.Combine(app.ProjectDirectory, "bin", "Debug", "net10.0", app.ProjectName + ".dll");
        var variables = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["DOTNET_NOLOGO"] = "1",
        };
        foreach (var (key, value) in environment)
        {
            variables[key] = value;
        }

        return new LocalCommand(
            app.Name, app.Port, app.Url, "dotnet", [dll, "--urls", app.Url], app.ProjectDirectory, variables, $"{app.Url}/health", IsInfrastructure: false);
    }

    /// <summary>
    /// The infrastructure's <c>run</c> line, when its program is installed here (in a <c>look-in</c>
    /// folder, on the PATH, or a path relative to the step folder); null when it is not. The variables
    /// the line sets before its program are its environment, on top of workshop's own.
    /// </summary>
    public static LocalCommand? ForInfra(InfraService service, Step step)
    {
        if (service.Program is null || FindProgram(service.Program, step.Directory, service.LookIn ?? []) is not { } program)
        {
            return null;
        }

        return new LocalCommand(
            service.Name, service.Port, service.Url, program, service.Run!.Skip(1).ToList(), step.Directory,
            new Dictionary<string, string>(service.Environment ?? new Dictionary<string, string>()), service.Ready, IsInfrastructure: true);
    }

    /// <summary>
    /// The full path of a program: relative to the step where it is a path, else the first found in
    /// the look-in folders (relative to the step where they are not absolute), then on the PATH, as
    /// the shell finds it there (with PATHEXT on Windows).
    /// </summary>
    private static string? FindProgram(string name, string stepDirectory, IReadOnlyList<string> lookIn)
    {
        if (name.Contains('/') || name.Contains(Path.DirectorySeparatorChar))
        {
            var path = Path.GetFullPath(Path.Combine(stepDirectory, name));
            return IsProgram(path) ? path : null;
        }

        var extensions = OperatingSystem.IsWindows() && !Path.HasExtension(name)
            ? (System.Environment.GetEnvironmentVariable("PATHEXT") ?? ".EXE;.CMD;.BAT").Split(';', StringSplitOptions.RemoveEmptyEntries)
            : [""];
        var onPath = (System.Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return lookIn.Select(folder => Path.GetFullPath(Path.Combine(stepDirectory, folder)))
            .Concat(onPath)
            .SelectMany(folder => extensions.Select(extension => Path.Combine(folder, name + extension)))
            .FirstOrDefault(IsProgram);
    }

    private static bool IsProgram(string path) =>
        File.Exists(path)
        && (OperatingSystem.IsWindows() || (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0);
}
