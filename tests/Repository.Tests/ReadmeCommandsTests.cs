using System.Text.Json;
using System.Text.RegularExpressions;
using Workshop.Readme;
using Workshop.Steps;

namespace Repository.Tests;

/// <summary>What the READMEs tell attendees to run matches what the steps hold.</summary>
public sealed partial class ReadmeCommandsTests
{
    [Theory]
    [MemberData(nameof(Repo.StepFolders), MemberType = typeof(Repo))]
    public void EveryTryItRequest_IsInTheServicesHttpFile(string folder)
    {
        var step = Repo.Step(folder);
        var (apps, infra) = StepServices.Load(step);
        var commands = TryItParser.Parse(File.ReadAllText(step.ReadmePath));
        Assert.NotEmpty(commands);

        foreach (var command in commands)
        {
            var words = ShellWords.Split(command.Command);
            if (TryItRunner.IsPause(words, out _))
            {
                continue; // `sleep 5`: no request
            }

            var method = words.SkipWhile(w => w != "-X").Skip(1).FirstOrDefault() ?? "GET";
            var url = Assert.Single(words, w => w.Contains("localhost:", StringComparison.Ordinal));
            var match = Address().Match(url);
            Assert.True(match.Success, $"{folder}: cannot read the address of: {command.Command}");
            var port = int.Parse(match.Groups["port"].Value);
            if (infra.Any(i => i.Port == port))
            {
                // Infrastructure's own API (Consul's on 8500): no .http file of ours describes it.
                continue;
            }

            var app = Assert.Single(apps, a => a.Port == port);

            var http = Path.Combine(app.ProjectDirectory, app.ProjectName + ".http");
            Assert.True(File.Exists(http), $"{folder}: {app.Name} has no {app.ProjectName}.http");
            // Ids may differ (/accounts/2 in the README, /accounts/1 in the file): the shape must match.
            var requests = File.ReadAllLines(http).Select(l => l.Trim()).Where(l => RequestLine().IsMatch(l)).Select(Shape).ToList();
            var path = match.Groups["path"].Value;
            Assert.True(
                requests.Any(r => r.StartsWith(method + " ", StringComparison.Ordinal) && r.EndsWith("}}" + Shape(path), StringComparison.Ordinal)),
                $"{folder}: README Try it {command.Number} calls {method} {path} on {app.Name}; {app.ProjectName}.http has no such request");
        }
    }

    [Fact]
    public void TryItTitle_IsTheWholeItemText_WhenItWrapsOntoTheNextLine()
    {
        const string readme = """
            ## Try it

            1. Send your own id and get it back (then look for it in the log of
               every service):

               ```bash
               curl -s localhost:8000/
               ```
               ```text
               ok
               ```

            2. One line:
               ```bash
               curl -s localhost:8000/
               ```
               ```text
               ok
               ```
            """;

        var commands = TryItParser.Parse(readme);

        Assert.Equal(
            ["Send your own id and get it back (then look for it in the log of every service)", "One line"],
            commands.Select(c => c.Title));
    }

    [Theory]
    [MemberData(nameof(Repo.StepFolders), MemberType = typeof(Repo))]
    public void DotnetRun_UsesTheDocumentedPort(string folder)
    {
        var (apps, _) = StepServices.Load(Repo.Step(folder));
        foreach (var app in apps)
        {
            var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(app.ProjectDirectory, "Properties", "launchSettings.json")));
            var profile = settings.RootElement.GetProperty("profiles").EnumerateObject().First().Value;
            Assert.Equal($"http://localhost:{ComposeTests.HostPorts[app.Name]}", profile.GetProperty("applicationUrl").GetString());
            Assert.Equal("Development", profile.GetProperty("environmentVariables").GetProperty("ASPNETCORE_ENVIRONMENT").GetString());
        }
    }

    private static string Shape(string request) => Number().Replace(request, "N");

    [GeneratedRegex(@"(?<=[/=])\d+(?=$|[/?&])")]
    private static partial Regex Number();

    [GeneratedRegex(@"localhost:(?<port>\d+)(?<path>/\S*)")]
    private static partial Regex Address();

    [GeneratedRegex(@"^(GET|POST|PUT|PATCH|DELETE) \{\{\w+\}\}/")]
    private static partial Regex RequestLine();
}
