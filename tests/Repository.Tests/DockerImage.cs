using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Repository.Tests;

/// <summary>
/// An image built from a Dockerfile without Docker: each stage gets a folder of its own standing in
/// for its file system, and the instructions the workshop's Dockerfiles use are carried out there as
/// the builder would (COPY from the build context less what .dockerignore leaves out, or from an
/// earlier stage; WORKDIR; ARG and ENV; RUN of dotnet, with or without a cache mount, and of mkdir
/// with chown). An instruction outside that set fails the build, naming it, rather than being skipped.
/// </summary>
public sealed partial class DockerImage : IDisposable
{
    /// <summary>What the base images set, from their Dockerfiles (dotnet/dotnet-docker).</summary>
    private static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> BaseImages =
        new Dictionary<string, IReadOnlyDictionary<string, string>>
        {
            ["mcr.microsoft.com/dotnet/sdk:10.0"] = new Dictionary<string, string> { ["APP_UID"] = "1654", ["DOTNET_RUNNING_IN_CONTAINER"] = "true" },
            ["mcr.microsoft.com/dotnet/aspnet:10.0"] = new Dictionary<string, string>
            {
                ["APP_UID"] = "1654", ["ASPNETCORE_HTTP_PORTS"] = "8080", ["DOTNET_RUNNING_IN_CONTAINER"] = "true",
            },
        };

    /// <summary>
    /// The platform arguments BuildKit sets for a stage that declares them (ARG TARGETARCH): the
    /// image is built for this machine's architecture, as `docker compose build` does by default.
    /// </summary>
    private static readonly IReadOnlyDictionary<string, string> PlatformArgs = PlatformArguments();

    /// <summary>The SDK image's NuGet package folder: its user is root.</summary>
    private const string NuGetPackages = "/root/.nuget/packages";

    private DockerImage(string root) => Root = root;

    /// <summary>The folder that stands in for the final stage's file system root.</summary>
    public string Root { get; }

    public string WorkingDirectory { get; private set; } = "/";

    public IReadOnlyList<string> Entrypoint { get; private set; } = [];

    public Dictionary<string, string> Environment { get; } = [];

    public string? User { get; private set; }

    /// <summary>Folders a RUN created and handed to a user (container paths), with that user.</summary>
    public Dictionary<string, string> OwnedFolders { get; } = [];

    /// <summary>The path in <see cref="Root"/> for a path inside the image.</summary>
    public string HostPath(string containerPath) => Path.Combine(Root, containerPath.Trim('/'));

    /// <summary>Builds the Dockerfile's last stage; the build fails as Docker's would, with the output of the step that failed.</summary>
    public static async Task<DockerImage> BuildAsync(
        string context, string dockerfile, IReadOnlyDictionary<string, string> buildArgs, DockerBuilder? builder = null)
    {
        var workspace = Directory.CreateTempSubdirectory("docker-image-").FullName;
        try
        {
            return await BuildAsync(context, dockerfile, buildArgs, builder ?? DockerBuilder.Machine, workspace);
        }
        catch
        {
            Directory.Delete(workspace, recursive: true);
            throw;
        }
    }

    private static async Task<DockerImage> BuildAsync(
        string context, string dockerfile, IReadOnlyDictionary<string, string> buildArgs, DockerBuilder builder, string workspace)
    {
        var ignore = DockerIgnore.Load(context);
        var stages = new List<(string? Name, DockerImage Image)>();
        DockerImage? stage = null;
        Dictionary<string, string> args = [];

        foreach (var (keyword, rest, line) in Instructions(File.ReadAllText(dockerfile)))
        {
            var where = $"{Path.GetFileName(dockerfile)} line {line}: {keyword} {rest}";
            if (keyword == "FROM")
            {
                var from = FromPattern().Match(rest);
                var image = from.Groups["image"].Value;
                if (!from.Success || !BaseImages.TryGetValue(image, out var imageEnvironment))
                {
                    throw new NotSupportedException($"{where}: this test knows the base images {string.Join(", ", BaseImages.Keys)} only");
                }

                stage = new DockerImage(Path.Combine(workspace, $"stage{stages.Count}"));
                Directory.CreateDirectory(stage.Root);
                foreach (var (key, value) in imageEnvironment)
                {
                    stage.Environment[key] = value;
                }

                stages.Add((from.Groups["name"].Success ? from.Groups["name"].Value : null, stage));
                args = [];
                continue;
            }

            if (stage is null)
            {
                throw new NotSupportedException($"{where}: only FROM starts a Dockerfile here");
            }

            var variables = new Dictionary<string, string>(stage.Environment);
            foreach (var (key, value) in args)
            {
                variables.TryAdd(key, value);
            }

            switch (keyword)
            {
                case "ARG":
                    var arg = rest.Split('=', 2);
                    args[arg[0]] = buildArgs.GetValueOrDefault(arg[0]) ?? (arg.Length == 2 ? arg[1] : PlatformArgs.GetValueOrDefault(arg[0], ""));
                    break;
                case "ENV":
                    var env = rest.Split('=', 2);
                    stage.Environment[env[0]] = Expand(env[1], variables);
                    break;
                case "WORKDIR":
                    stage.WorkingDirectory = ContainerPath(stage.WorkingDirectory, Expand(rest, variables));
                    Directory.CreateDirectory(stage.HostPath(stage.WorkingDirectory));
                    break;
                case "COPY":
                    Copy(where, Expand(rest, variables), stage, stages, context, ignore);
                    break;
                case "RUN":
                    await RunAsync(where, Expand(rest, variables), stage, variables, builder);
                    break;
                case "USER":
                    stage.User = Expand(rest, variables);
                    break;
                case "ENTRYPOINT":
                    stage.Entrypoint = JsonSerializer.Deserialize<string[]>(rest)
                        ?? throw new NotSupportedException($"{where}: only the JSON form of ENTRYPOINT is read here");
                    break;
                case "EXPOSE":
                    break;
                default:
                    throw new NotSupportedException($"{where}: this test does not carry out {keyword}; teach DockerImage.cs");
            }
        }

        foreach (var (_, earlier) in stages.SkipLast(1))
        {
            Directory.Delete(earlier.Root, recursive: true);
        }

        return stages[^1].Image;
    }

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(Root)!, recursive: true);

    private static void Copy(string where, string arguments, DockerImage stage, List<(string? Name, DockerImage Image)> stages, string context, DockerIgnore ignore)
    {
        var words = arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        string? fromStage = null;
        while (words[0].StartsWith("--", StringComparison.Ordinal))
        {
            fromStage = words[0].StartsWith("--from=", StringComparison.Ordinal)
                ? words[0]["--from=".Length..]
                : throw new NotSupportedException($"{where}: COPY {words[0]} is not carried out here");
            words.RemoveAt(0);
        }

        var destination = ContainerPath(stage.WorkingDirectory, words[^1]);
        var sources = words.SkipLast(1).ToList();
        var intoFolder = sources.Count > 1 || words[^1].EndsWith('/') || words[^1] is "." or "./";
        foreach (var source in sources)
        {
            string from;
            Func<string, bool> included;
            if (fromStage is null)
            {
                // The context holds what .dockerignore does not leave out; a path outside it is an error.
                var relative = source.Trim('/');
                from = Path.GetFullPath(Path.Combine(context, relative));
                included = path => !ignore.Excludes(Path.GetRelativePath(context, path).Replace('\\', '/'));
                if (relative.Length > 0 && !included(from))
                {
                    throw new Xunit.Sdk.XunitException($"{where}: {source} is left out of the build context by .dockerignore");
                }
            }
            else
            {
                var earlier = stages.Single(s => s.Name == fromStage).Image;
                from = earlier.HostPath(ContainerPath(earlier.WorkingDirectory, source));
                included = _ => true;
            }

            if (Directory.Exists(from))
            {
                // A folder's contents go into the destination folder.
                CopyFolder(from, stage.HostPath(destination), included);
            }
            else if (File.Exists(from))
            {
                var target = intoFolder ? Path.Combine(stage.HostPath(destination), Path.GetFileName(from)) : stage.HostPath(destination);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(from, target, overwrite: true);
            }
            else
            {
                throw new Xunit.Sdk.XunitException($"{where}: {source} does not exist");
            }
        }
    }

    private static void CopyFolder(string from, string to, Func<string, bool> included)
    {
        Directory.CreateDirectory(to);
        foreach (var entry in Directory.EnumerateFileSystemEntries(from).Where(included))
        {
            var target = Path.Combine(to, Path.GetFileName(entry));
            if (Directory.Exists(entry))
            {
                CopyFolder(entry, target, included);
            }
            else
            {
                File.Copy(entry, target, overwrite: true);
            }
        }
    }

    private static async Task RunAsync(string where, string command, DockerImage stage, Dictionary<string, string> variables, DockerBuilder builder)
    {
        // RUN --mount=type=cache,target=...: the builder's folder for that cache in place of the stage's own.
        var caches = new Dictionary<string, string>();
        while (command.StartsWith("--", StringComparison.Ordinal))
        {
            var flag = command.Split(' ', 2)[0];
            command = command[flag.Length..].TrimStart();
            caches.Add(CacheMount(where, flag, stage, out var id), builder.CacheFolder(id));
        }

        var folders = MakeOwnedFolderPattern().Match(command);
        if (folders.Success && caches.Count == 0)
        {
            var paths = folders.Groups["made"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (!paths.SequenceEqual(folders.Groups["owned"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
            {
                throw new NotSupportedException($"{where}: mkdir and chown of different folders are not carried out here");
            }

            foreach (var path in paths)
            {
                var folder = ContainerPath(stage.WorkingDirectory, path);
                Directory.CreateDirectory(stage.HostPath(folder));
                stage.OwnedFolders[folder] = folders.Groups["user"].Value.Trim('"');
            }

            return;
        }

        var words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words[0] != "dotnet" || command.IndexOfAny(['"', '\'', '&', '|', ';', '$', '>', '<']) >= 0)
        {
            throw new NotSupportedException($"{where}: this test carries out RUN dotnet ... and RUN mkdir -p ... && chown ... only; teach DockerImage.cs");
        }

        if (caches.Keys.FirstOrDefault(target => target != NuGetPackages) is { } other)
        {
            throw new NotSupportedException($"{where}: a cache mount on {other} is not carried out here; teach DockerImage.cs");
        }

        // The stage's absolute paths (-o /app) are its own folder's.
        var arguments = words.Skip(1).Select(w => w.StartsWith('/') ? stage.HostPath(w) : w);
        var environment = new Dictionary<string, string>(variables)
        {
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            ["MSBUILDDISABLENODEREUSE"] = "1",
            // Where the SDK image keeps packages (root's home); the builder's registry stands in for nuget.org.
            ["NUGET_PACKAGES"] = stage.HostPath(NuGetPackages),
            ["RestoreSources"] = builder.PackageSource,
        };

        // A cache mounted on a folder hides the stage's own folder there for this RUN only, and what the
        // RUN writes there stays in the cache: the same path, other contents (restore records the path).
        using var mounts = new CacheMounts(stage, caches);
        var result = await Shell.RunAsync("dotnet", arguments, TimeSpan.FromMinutes(5), stage.HostPath(stage.WorkingDirectory), environment);
        if (result.ExitCode != 0)
        {
            throw new Xunit.Sdk.XunitException($"{where} exited with {result.ExitCode}:\n{result.Output}\n{result.Errors}");
        }
    }

    /// <summary>Cache folders linked in at their targets in a stage, with the stage's own folders set aside until disposed.</summary>
    private sealed class CacheMounts : IDisposable
    {
        private readonly List<(string Target, string? Aside)> _mounted = [];

        public CacheMounts(DockerImage stage, IReadOnlyDictionary<string, string> caches)
        {
            foreach (var (target, cache) in caches)
            {
                var path = stage.HostPath(target);
                string? aside = null;
                if (Directory.Exists(path))
                {
                    aside = path + ".under-mount";
                    Directory.Move(path, aside);
                }

                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                Directory.CreateSymbolicLink(path, cache);
                _mounted.Add((path, aside));
            }
        }

        public void Dispose()
        {
            foreach (var (path, aside) in _mounted)
            {
                new DirectoryInfo(path).Delete(); // the link, not the cache
                if (aside is not null)
                {
                    Directory.Move(aside, path);
                }
            }
        }
    }

    private static Dictionary<string, string> PlatformArguments()
    {
        var arch = RuntimeInformation.OSArchitecture switch
        {
            Architecture.X64 => "amd64",
            Architecture.Arm64 => "arm64",
            var other => throw new NotSupportedException($"no Linux image of the .NET SDK is built for {other}"),
        };
        return new Dictionary<string, string>
        {
            ["TARGETOS"] = "linux", ["TARGETARCH"] = arch, ["TARGETPLATFORM"] = "linux/" + arch,
            ["BUILDOS"] = "linux", ["BUILDARCH"] = arch, ["BUILDPLATFORM"] = "linux/" + arch,
        };
    }

    /// <summary>Reads --mount=type=cache,id=...,target=...,sharing=...; the cache's id is its target unless named.</summary>
    private static string CacheMount(string where, string flag, DockerImage stage, out string id)
    {
        if (!flag.StartsWith("--mount=", StringComparison.Ordinal))
        {
            throw new NotSupportedException($"{where}: RUN {flag} is not carried out here; teach DockerImage.cs");
        }

        var options = flag["--mount=".Length..].Split(',').Select(o => o.Split('=', 2)).ToDictionary(o => o[0], o => o.Length == 2 ? o[1] : "");
        if (options.GetValueOrDefault("type") != "cache" || options.Keys.Except(["type", "id", "target", "sharing"]).Any())
        {
            throw new NotSupportedException($"{where}: RUN {flag} is not carried out here (type=cache with id, target and sharing only); teach DockerImage.cs");
        }

        if (!options.TryGetValue("target", out var target) || target.Length == 0)
        {
            throw new Xunit.Sdk.XunitException($"{where}: a cache mount needs a target");
        }

        if (options.TryGetValue("sharing", out var sharing) && sharing is not ("shared" or "private" or "locked"))
        {
            throw new Xunit.Sdk.XunitException($"{where}: sharing={sharing} is none of shared, private, locked");
        }

        id = options.GetValueOrDefault("id") ?? target;
        return ContainerPath(stage.WorkingDirectory, target);
    }

    private static string Expand(string text, IReadOnlyDictionary<string, string> variables) =>
        VariablePattern().Replace(text, m => variables.GetValueOrDefault(m.Groups["braced"].Success ? m.Groups["braced"].Value : m.Groups["plain"].Value) ?? "");

    /// <summary>An absolute, normalised path inside the image ("." and ".." resolved against the working directory).</summary>
    private static string ContainerPath(string workingDirectory, string path)
    {
        var segments = new List<string>();
        foreach (var segment in ((path.StartsWith('/') ? "" : workingDirectory) + "/" + path).Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (segment == "..")
            {
                if (segments.Count > 0)
                {
                    segments.RemoveAt(segments.Count - 1);
                }
            }
            else if (segment != ".")
            {
                segments.Add(segment);
            }
        }

        return "/" + string.Join('/', segments);
    }


    private static IEnumerable<(string Keyword, string Arguments, int Line)> Instructions(string dockerfile)
    {
        var lines = dockerfile.Replace("\r\n", "\n").Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var start = i;
            var text = lines[i].Trim();
            while (text.EndsWith('\\') && i + 1 < lines.Length)
            {
                text = text[..^1] + " " + lines[++i].Trim();
            }

            if (text.Length == 0 || text.StartsWith('#'))
            {
                continue;
            }

            var space = text.IndexOf(' ');
            yield return (text[..space].ToUpperInvariant(), text[(space + 1)..].Trim(), start + 1);
        }
    }

    [GeneratedRegex(@"^(?<image>\S+)(\s+AS\s+(?<name>\S+))?$", RegexOptions.IgnoreCase)]
    private static partial Regex FromPattern();

    [GeneratedRegex(@"\$(\{(?<braced>\w+)\}|(?<plain>\w+))")]
    private static partial Regex VariablePattern();

    [GeneratedRegex(@"^mkdir -p (?<made>[^&]+?) && chown (?<user>\S+) (?<owned>.+)$")]
    private static partial Regex MakeOwnedFolderPattern();
}

/// <summary>
/// What one machine's image builder keeps between builds: a folder per cache mount id (RUN
/// --mount=type=cache), in no image, and the package registry restores download from, a folder of
/// packages standing in for nuget.org.
/// </summary>
public sealed class DockerBuilder : IDisposable
{
    private readonly string _caches;
    private readonly bool _ownsCaches;

    public DockerBuilder(string packageSource)
        : this(packageSource, Directory.CreateTempSubdirectory("docker-caches-").FullName, ownsCaches: true)
    {
    }

    private DockerBuilder(string packageSource, string caches, bool ownsCaches)
    {
        PackageSource = packageSource;
        _caches = caches;
        _ownsCaches = ownsCaches;
    }

    /// <summary>The builder the tests share, as one machine's: the packages this machine restored are the registry.</summary>
    public static DockerBuilder Machine { get; } = CreateMachine();

    /// <summary>The packages this machine has restored (the test run restored every step's).</summary>
    public static string MachinePackages =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } packages
            ? packages
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    public string PackageSource { get; }

    /// <summary>The same machine with its network gone: the caches stay, the registry is empty.</summary>
    public DockerBuilder Offline()
    {
        var empty = Path.Combine(_caches, "registry-unreachable");
        Directory.CreateDirectory(empty);
        return new DockerBuilder(empty, _caches, ownsCaches: false);
    }

    public string CacheFolder(string id)
    {
        var folder = Path.Combine(_caches, "cache-" + Uri.EscapeDataString(id));
        Directory.CreateDirectory(folder);
        return folder;
    }

    public void Dispose()
    {
        if (_ownsCaches && Directory.Exists(_caches))
        {
            Directory.Delete(_caches, recursive: true);
        }
    }

    private static DockerBuilder CreateMachine()
    {
        var machine = new DockerBuilder(MachinePackages);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => machine.Dispose();
        return machine;
    }
}
