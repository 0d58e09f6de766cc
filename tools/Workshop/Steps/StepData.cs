namespace Workshop.Steps;

/// <summary>
/// Where a step keeps what it stores when run locally: each service's SQLite file in its project
/// folder (data/), unless WORKSHOP_DATA_DIR names another place (as the repository tests do, to leave
/// an attendee's data alone), and what its infrastructure keeps in the step's own data/ (Prometheus's
/// and RabbitMQ's). `workshop up --fresh` and `workshop reset` empty these; Docker's volumes are not here.
/// </summary>
public static class StepData
{
    private static string? Root => Environment.GetEnvironmentVariable("WORKSHOP_DATA_DIR");

    /// <summary>The service's data folder.</summary>
    public static string Of(AppService app) =>
        Root is { } root ? Path.Combine(root, app.Name) : Path.Combine(app.ProjectDirectory, "data");

    /// <summary>The path of its SQLite file where WORKSHOP_DATA_DIR moves it; null where the service's own default holds.</summary>
    public static string? MovedDatabase(AppService app) => Root is null ? null : Path.Combine(Of(app), app.Name + ".db");

    /// <summary>The folders of the step's data that exist now: its services' and its infrastructure's.</summary>
    public static IReadOnlyList<string> Existing(Step step, IEnumerable<AppService> apps) =>
        apps.Select(Of).Append(Path.Combine(step.Directory, "data")).Distinct().Where(Directory.Exists).ToList();

    /// <summary>Removes the folders; says each one it removed, relative to the step folder.</summary>
    public static void Remove(Step step, IEnumerable<string> folders, string saying)
    {
        foreach (var folder in folders)
        {
            Directory.Delete(folder, recursive: true);
            Ui.Info($"{saying}: removed {Path.GetRelativePath(step.Directory, folder)}");
        }
    }
}
