using System.Text.Json;
using System.Text.RegularExpressions;

namespace Repository.Tests;

/// <summary>
/// An image built from a Dockerfile without Docker: each stage gets a folder of its own standing in
/// for its file system, and the instructions the workshop's Dockerfiles use are carried out there as
/// the builder would (COPY from the build context less what .dockerignore leaves out, or from an
/// earlier stage; WORKDIR; ARG and ENV; RUN of dotnet, and of mkdir with chown). An instruction
/// outside that set fails the build, naming it, rather than being skipped.
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
    public static async Task<DockerImage> BuildAsync(string context, string dockerfile, IReadOnlyDictionary<string, string> buildArgs)
    {
        var workspace = Directory.CreateTempSubdirectory("docker-image-").FullName;
        try
        {
            return await BuildAsync(context, dockerfile, buildArgs, workspace);
        }
        catch
        {
            Directory.Delete(workspace, recursive: true);
            throw;
        }
    }

    private static async Task<DockerImage> BuildAsync(string context, string dockerfile, IReadOnlyDictionary<string, string> buildArgs, string workspace)
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
                    args[arg[0]] = buildArgs.GetValueOrDefault(arg[0]) ?? (arg.Length == 2 ? arg[1] : "");
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
                    await RunAsync(where, Expand(rest, variables), stage, variables);
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

    private static async Task RunAsync(string where, string command, DockerImage stage, Dictionary<string, string> variables)
    {
        var folders = MakeOwnedFolderPattern().Match(command);
        if (folders.Success)
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

        // The stage's absolute paths (-o /app) are its own folder's.
        var arguments = words.Skip(1).Select(w => w.StartsWith('/') ? stage.HostPath(w) : w);
        var environment = new Dictionary<string, string>(variables)
        {
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            ["MSBUILDDISABLENODEREUSE"] = "1",
        };
        var result = await Shell.RunAsync("dotnet", arguments, TimeSpan.FromMinutes(5), stage.HostPath(stage.WorkingDirectory), environment);
        if (result.ExitCode != 0)
        {
            throw new Xunit.Sdk.XunitException($"{where} exited with {result.ExitCode}:\n{result.Output}\n{result.Errors}");
        }
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
