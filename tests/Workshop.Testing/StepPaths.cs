using System.Reflection;

namespace Workshop.Testing;

/// <summary>
/// Where the step under test and its built services are. Each step's test project records its step
/// folder and build configuration at build time (AssemblyMetadata "StepDirectory" and
/// "BuildConfiguration" in its csproj); this reads them from that test assembly.
/// </summary>
public static class StepPaths
{
    private static readonly Assembly TestAssembly = FindTestAssembly();

    public static string StepDirectory { get; } = Metadata("StepDirectory");

    private static string Configuration { get; } = Metadata("BuildConfiguration");

    public static string ProjectDirectory(string project) => Path.Combine(StepDirectory, "src", project);

    public static string Assembly(string project) =>
        Path.Combine(ProjectDirectory(project), "bin", Configuration, "net10.0", project + ".dll");

    private static Assembly FindTestAssembly() =>
        new[] { System.Reflection.Assembly.GetEntryAssembly() }
            .Concat(AppDomain.CurrentDomain.GetAssemblies())
            .FirstOrDefault(a => a is not null && Find(a, "StepDirectory") is not null)
        ?? throw new InvalidOperationException(
            "No loaded assembly records a StepDirectory: a step's test project names its folder with <AssemblyMetadata Include=\"StepDirectory\" .../>.");

    private static string? Find(Assembly assembly, string key) =>
        assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == key)?.Value;

    private static string Metadata(string key) =>
        Find(TestAssembly, key) ?? throw new InvalidOperationException($"{TestAssembly.GetName().Name} records no {key}.");
}
