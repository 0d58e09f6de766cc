using System.Reflection;
using Workshop.Steps;

namespace Repository.Tests;

public static class Repo
{
    public static string Root { get; } = Metadata("RepositoryRoot");

    public static string Configuration { get; } = Metadata("BuildConfiguration");

    public static IReadOnlyList<Step> Steps { get; } = StepCatalog.Load(Root);

    /// <summary>Step folders for [MemberData]: one row each.</summary>
    public static TheoryData<string> StepFolders => new(Steps.Select(s => s.Folder));

    public static Step Step(string folder) => Steps.Single(s => s.Folder == folder);

    private static string Metadata(string key) =>
        typeof(Repo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
