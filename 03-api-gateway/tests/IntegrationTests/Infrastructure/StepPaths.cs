using System.Reflection;

namespace IntegrationTests.Infrastructure;

/// <summary>Where this step's folder and its built services are (recorded at build time).</summary>
public static class StepPaths
{
    public static string StepDirectory { get; } = Metadata("StepDirectory");

    private static string Configuration { get; } = Metadata("BuildConfiguration");

    public static string ProjectDirectory(string project) => Path.Combine(StepDirectory, "src", project);

    public static string Assembly(string project) =>
        Path.Combine(ProjectDirectory(project), "bin", Configuration, "net10.0", project + ".dll");

    private static string Metadata(string key) =>
        typeof(StepPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
