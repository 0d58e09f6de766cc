namespace Workshop.Steps;

/// <summary>
/// The variables a step's docker-compose.yml takes (<c>USERS_PORT</c> and the like), found where
/// docker compose finds them: in the environment first, then in the <c>.env</c> file next to the
/// compose file. <c>workshop up</c> and <c>workshop check</c> read the same ones, so a port moved for
/// Docker is moved without Docker too.
/// </summary>
public sealed class StepVariables
{
    /// <summary>Where <see cref="Get"/> says a variable of the environment was found.</summary>
    public const string TheEnvironment = "the environment";

    private readonly Func<string, string?> _environment;
    private readonly Dictionary<string, string> _file;
    private readonly string _fileName;

    private StepVariables(Func<string, string?> environment, Dictionary<string, string> file, string fileName)
    {
        _environment = environment;
        _file = file;
        _fileName = fileName;
    }

    /// <summary>None at all: every port is the documented one.</summary>
    public static StepVariables None { get; } = new(_ => null, [], ".env");

    /// <summary>This process's environment only: what every step shares.</summary>
    public static StepVariables FromEnvironment { get; } = new(Environment.GetEnvironmentVariable, [], ".env");

    /// <summary>This process's environment, and the step's .env file when it has one.</summary>
    public static StepVariables Read(Step step)
    {
        var path = Path.Combine(step.Directory, ".env");
        var file = File.Exists(path) ? Parse(File.ReadAllLines(path)) : [];
        return new StepVariables(Environment.GetEnvironmentVariable, file, $"{step.Folder}/.env");
    }

    /// <summary>The variable's value and where it was found; null when it is set nowhere (or set empty).</summary>
    public (string Value, string Source)? Get(string name)
    {
        if (_environment(name) is { Length: > 0 } value)
        {
            return (value, TheEnvironment);
        }

        return _file.TryGetValue(name, out var fromFile) && fromFile.Length > 0 ? (fromFile, _fileName) : null;
    }

    /// <summary>
    /// <c>NAME=value</c> lines as compose reads them: blank lines and <c># comments</c> skipped, an
    /// optional <c>export</c>, quotes around the value removed, a <c> # comment</c> after an unquoted
    /// value dropped. The last line of a name wins.
    /// </summary>
    public static Dictionary<string, string> Parse(IEnumerable<string> lines)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            if (line.StartsWith("export ", StringComparison.Ordinal))
            {
                line = line["export ".Length..].TrimStart();
            }

            var equals = line.IndexOf('=');
            if (equals <= 0)
            {
                continue;
            }

            var value = line[(equals + 1)..].Trim();
            if (value.Length >= 2 && (value[0] is '"' or '\'') && value[^1] == value[0])
            {
                value = value[1..^1];
            }
            else if (value.IndexOf(" #", StringComparison.Ordinal) is >= 0 and var comment)
            {
                value = value[..comment].TrimEnd();
            }

            variables[line[..equals].Trim()] = value;
        }

        return variables;
    }
}
