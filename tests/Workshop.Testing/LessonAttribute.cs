using Xunit.v3;

namespace Workshop.Testing;

/// <summary>
/// Names the step whose lesson a test class checks ("04-service-discovery"). Steps are cumulative, so
/// the class runs in that step and is carried into every later one. In a later step that is not the
/// newest, it gets the trait <c>Carried=true</c>: <c>dotnet test --filter "Carried!=true"</c> then checks
/// each lesson where it is taught and again in the newest step, whose code carries all of them, instead
/// of once in every step. Plain <c>dotnet test</c> runs everything.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class LessonAttribute(string step) : Attribute, ITraitAttribute
{
    public string Step { get; } = step;

    public IReadOnlyCollection<KeyValuePair<string, string>> GetTraits() =>
        IsCarried(Step, StepPaths.StepDirectory) ? [new("Carried", "true")] : [];

    /// <summary>
    /// Whether the tests of <paramref name="lesson"/> are carried in the step folder
    /// <paramref name="stepDirectory"/>: they were taught by another step, and a newer step exists
    /// beside it.
    /// </summary>
    public static bool IsCarried(string lesson, string stepDirectory)
    {
        var step = new DirectoryInfo(stepDirectory);
        if (string.Equals(step.Name, lesson, StringComparison.Ordinal))
        {
            return false;
        }

        var newest = step.Parent?.GetDirectories()
            .Select(d => d.Name)
            .Where(IsStepFolder)
            .Max(StringComparer.Ordinal);
        return newest is not null && string.CompareOrdinal(step.Name, newest) < 0;
    }

    /// <summary>Step folders are named by two digits, a dash and the lesson: "04-service-discovery".</summary>
    public static bool IsStepFolder(string name) =>
        name.Length > 3 && char.IsAsciiDigit(name[0]) && char.IsAsciiDigit(name[1]) && name[2] == '-';
}
