using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Repository.Tests;

/// <summary>
/// The configuration a built service really reads: the options classes in its assemblies (a class with
/// a <c>SectionName</c> constant, bound from that section) and the keys of its appsettings.json.
/// Read with a MetadataLoadContext, so nothing of the service runs.
/// </summary>
public sealed class ServiceOptions
{
    private readonly Dictionary<string, HashSet<string>> _sections = new(StringComparer.OrdinalIgnoreCase);
    private readonly JsonNode? _appsettings;

    public ServiceOptions(string projectDirectory, string configuration)
    {
        var bin = Path.Combine(projectDirectory, "bin", configuration, "net10.0");
        var project = Path.GetFileName(projectDirectory);
        Assert.True(File.Exists(Path.Combine(bin, project + ".dll")), $"{project} is not built at {bin}");

        var runtime = RuntimeEnvironment.GetRuntimeDirectory();
        var aspnet = Path.Combine(runtime, "..", "..", "Microsoft.AspNetCore.App", Path.GetFileName(runtime.TrimEnd(Path.DirectorySeparatorChar)));
        var paths = Directory.GetFiles(runtime, "*.dll")
            .Concat(Directory.Exists(aspnet) ? Directory.GetFiles(aspnet, "*.dll") : [])
            .Concat(Directory.GetFiles(bin, "*.dll"))
            .GroupBy(Path.GetFileName).Select(g => g.Last());

        using var context = new MetadataLoadContext(new PathAssemblyResolver(paths));
        foreach (var dll in Directory.GetFiles(bin, "*.dll").Where(IsOwnAssembly(projectDirectory)))
        {
            foreach (var type in SafeTypes(context.LoadFromAssemblyPath(dll)))
            {
                var field = type.GetField("SectionName", BindingFlags.Public | BindingFlags.Static);
                if (field is { IsLiteral: true } && field.GetRawConstantValue() is string section)
                {
                    _sections[section] = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
                }
            }
        }

        var appsettings = Path.Combine(projectDirectory, "appsettings.json");
        _appsettings = File.Exists(appsettings)
            ? JsonNode.Parse(File.ReadAllText(appsettings), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true })
            : null;
    }

    public IReadOnlyDictionary<string, HashSet<string>> Sections => _sections;

    /// <summary>True when an environment variable such as Database__Path sets something the service reads.</summary>
    public bool Binds(string environmentKey)
    {
        var parts = environmentKey.Split("__");
        if (parts.Length >= 2 && _sections.TryGetValue(parts[0], out var properties) && properties.Contains(parts[1]))
        {
            return true;
        }

        // Framework-bound sections (ReverseProxy, Logging) are documented in appsettings.json.
        JsonNode? node = _appsettings;
        foreach (var part in parts)
        {
            node = node switch
            {
                JsonObject o => o.FirstOrDefault(p => string.Equals(p.Key, part, StringComparison.OrdinalIgnoreCase)).Value,
                JsonArray a when int.TryParse(part, out var i) => i < a.Count ? a[i] : a.FirstOrDefault(),
                _ => null,
            };
            if (node is null)
            {
                return false;
            }
        }

        return true;
    }

    // The service's own assemblies sit next to a project folder of the same name in the step.
    private static Func<string, bool> IsOwnAssembly(string projectDirectory) => dll =>
    {
        var name = Path.GetFileNameWithoutExtension(dll);
        return Directory.Exists(Path.Combine(Path.GetDirectoryName(projectDirectory)!, name));
    };

    private static IEnumerable<Type> SafeTypes(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            return e.Types.OfType<Type>();
        }
    }
}
