using System.Diagnostics;
using System.Text;

namespace Repository.Tests;

/// <summary>
/// What `docker compose up --build` would do with each service, done without Docker (none runs
/// here): its image built from its Dockerfile in a folder of its own (<see cref="DockerImage"/>:
/// restore from the project files alone, publish from the build context less .dockerignore), then its
/// entry point started there in the Production environment with the compose file's environment, and
/// the compose healthcheck run against it until it passes.
/// </summary>
public sealed class ImageTests
{
    public static TheoryData<string, string> BuiltServices
    {
        get
        {
            var rows = new TheoryData<string, string>();
            foreach (var file in ComposeTests.ComposeFilePaths)
            {
                foreach (var service in new ComposeFile(Path.Combine(Repo.Root, file)).Services.Values.Where(s => s.IsBuilt))
                {
                    rows.Add(file, service.Name);
                }
            }

            return rows;
        }
    }

    /// <summary>
    /// Build output and databases from the attendee's own runs stay out of the images: an obj folder
    /// restored on the host (another OS, other paths) copied over the container's own breaks its build.
    /// </summary>
    [Theory]
    [InlineData("01-starter/src/Users/obj/project.assets.json", true)]
    [InlineData("03-api-gateway/src/Gateway/bin/Release/net10.0/Gateway.dll", true)]
    [InlineData("01-starter/src/Accounts/data/accounts.db", true)]
    [InlineData("01-starter/tests/IntegrationTests/TestResults/run.trx", true)]
    [InlineData("somewhere/users.db", true)]
    [InlineData("bench/run.sh", true)]
    [InlineData(".git/HEAD", true)]
    [InlineData("Directory.Build.props", false)]
    [InlineData("01-starter/src/Users/Users.csproj", false)]
    [InlineData("01-starter/src/Users/Data/UsersDb.cs", false)]
    [InlineData("03-api-gateway/src/Gateway/Downstream/DownstreamClients.cs", false)]
    [InlineData("01-starter/src/Users/binding.db.cs", false)]
    public void DockerIgnore_LeavesOutBuildOutputAndDatabases_AndKeepsTheSources(string path, bool excluded) =>
        Assert.Equal(excluded, DockerIgnore.Load(Repo.Root).Excludes(path));

    [Theory]
    [MemberData(nameof(BuiltServices))]
    public async Task Image_BuildsFromItsDockerfile_AndStartsHealthy_WithTheComposeEnvironment(string file, string serviceName)
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("the compose healthcheck runs bash, as inside a Linux container");
        }

        var service = new ComposeFile(Path.Combine(Repo.Root, file)).Services[serviceName];
        using var image = await DockerImage.BuildAsync(service.BuildContext, service.Dockerfile, service.BuildArgs);

        // A named volume mounted on a folder the image lacks is created owned by root, and the
        // service, which runs as the app user, could not write its database there.
        foreach (var (volume, target) in service.Volumes)
        {
            Assert.True(
                image.OwnedFolders.GetValueOrDefault(target) == image.User,
                $"{serviceName} mounts {volume} at {target}, but its image does not create {target} owned by its user ({image.User}): add RUN mkdir -p {target} && chown \"$APP_UID\" {target}");
        }

        Assert.Equal("dotnet", image.Entrypoint[0]);
        var port = WorkshopFolder.FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = image.HostPath(image.WorkingDirectory),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in image.Entrypoint.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        // The container's environment: the image's, then the compose file's (its paths inside the
        // image made paths in the image's folder), and no environment name (Production). The
        // container port 8080 is a free port here.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k == "DOTNET_ENVIRONMENT").ToList())
        {
            start.Environment.Remove(key);
        }

        foreach (var (key, value) in image.Environment.Concat(service.Environment))
        {
            start.Environment[key] = value.StartsWith('/') ? image.HostPath(value) : value;
        }

        start.Environment["ASPNETCORE_HTTP_PORTS"] = port.ToString();

        var log = new StringBuilder();
        using var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var healthcheck = ((YamlDotNet.RepresentationModel.YamlSequenceNode)service.Healthcheck!["test"]).Children[3].ToString()
                .Replace("/8080", $"/{port}");
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                var probe = await Shell.RunAsync("bash", ["-c", healthcheck], TimeSpan.FromSeconds(10));
                if (probe.ExitCode == 0)
                {
                    break;
                }

                Assert.False(process.HasExited, $"{serviceName} exited with {(process.HasExited ? process.ExitCode : 0)} before its healthcheck passed:\n{Output(log)}");
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), $"{serviceName}'s healthcheck did not pass within 60 s:\n{Output(log)}");
                await Task.Delay(250);
            }
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private static string Output(StringBuilder log)
    {
        lock (log)
        {
            return log.ToString();
        }
    }
}
