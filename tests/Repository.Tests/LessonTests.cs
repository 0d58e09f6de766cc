using System.Text.RegularExpressions;
using Workshop.Testing;

namespace Repository.Tests;

/// <summary>
/// Each step's test classes name the step whose lesson they check ([Lesson]); CI's filter
/// (Carried!=true) runs a class in that step and in the newest step. A wrong name would keep a lesson's
/// tests from running where it is taught, so the names are checked against where each class first
/// appears.
/// </summary>
public sealed partial class LessonTests
{
    [Theory]
    [MemberData(nameof(Repo.StepFolders), MemberType = typeof(Repo))]
    public void EveryTestClass_NamesTheStepItFirstAppearsIn(string folder)
    {
        var step = Repo.Step(folder);
        var tests = Path.Combine(step.Directory, "tests", "IntegrationTests");
        var files = Directory.GetFiles(tests, "*Tests.cs").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(files);

        foreach (var file in files)
        {
            var text = File.ReadAllText(Path.Combine(tests, file!));
            var lessons = LessonName().Matches(text).Select(m => m.Groups["step"].Value).ToList();
            if (file == "ReadmeTests.cs")
            {
                // Each step's README is its own: its check runs in every step.
                Assert.True(lessons.Count == 0, $"{folder}/{file} checks this step's README and names no lesson");
                continue;
            }

            var first = Repo.Steps.First(s => File.Exists(Path.Combine(s.Directory, "tests", "IntegrationTests", file!)));
            Assert.True(lessons.SequenceEqual([first.Folder]),
                $"{folder}/{file} should name the step it first appears in, [Lesson(\"{first.Folder}\")], once; it names [{string.Join(", ", lessons)}]");
        }
    }

    [Fact]
    public void ALesson_IsCarriedOnlyInTheStepsAfterItsOwn_ThatAreNotTheNewest()
    {
        using var root = new TempDirectory();
        foreach (var name in new[] { "01-starter", "02-connect", "03-api-gateway", "bench", "tests" })
        {
            Directory.CreateDirectory(root.File(name));
        }

        Assert.False(LessonAttribute.IsCarried("01-starter", root.File("01-starter")));
        Assert.True(LessonAttribute.IsCarried("01-starter", root.File("02-connect")));
        Assert.False(LessonAttribute.IsCarried("01-starter", root.File("03-api-gateway")));
        Assert.False(LessonAttribute.IsCarried("02-connect", root.File("02-connect")));

        // A step added later makes the one before it carry its lessons.
        Directory.CreateDirectory(root.File("04-service-discovery"));
        Assert.True(LessonAttribute.IsCarried("01-starter", root.File("03-api-gateway")));
        Assert.False(LessonAttribute.IsCarried("01-starter", root.File("04-service-discovery")));
    }

    [GeneratedRegex("""\[Lesson\("(?<step>[^"]*)"\)\]""")]
    private static partial Regex LessonName();
}
