using System.Text;
using System.Text.RegularExpressions;

namespace Repository.Tests;

/// <summary>
/// A build context's <c>.dockerignore</c>: which paths Docker leaves out of the context it sends to
/// the builder. Patterns as Docker reads them: relative to the context root, a trailing or leading
/// slash dropped, <c>*</c> and <c>?</c> within one path segment, <c>**</c> for any number of segments,
/// and a path left out with everything under it.
/// </summary>
public sealed class DockerIgnore
{
    private readonly List<Regex> _patterns;

    private DockerIgnore(List<Regex> patterns) => _patterns = patterns;

    public static DockerIgnore Load(string contextDirectory)
    {
        var file = Path.Combine(contextDirectory, ".dockerignore");
        var lines = File.Exists(file) ? File.ReadAllLines(file) : [];
        var patterns = new List<Regex>();
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            if (line.StartsWith('!'))
            {
                throw new NotSupportedException($".dockerignore: exceptions ('{line}') are not read by this test; teach DockerIgnore.cs");
            }

            patterns.Add(ToRegex(line.Trim('/')));
        }

        return new DockerIgnore(patterns);
    }

    /// <summary>Whether the path (relative to the context, '/' between segments) is left out of the context.</summary>
    public bool Excludes(string relativePath)
    {
        // A path is left out when it, or a folder above it, matches a pattern.
        var segments = relativePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var length = 1; length <= segments.Length; length++)
        {
            var prefix = string.Join('/', segments.Take(length));
            if (_patterns.Any(p => p.IsMatch(prefix)))
            {
                return true;
            }
        }

        return false;
    }

    private static Regex ToRegex(string pattern)
    {
        var regex = new StringBuilder("^");
        var segments = pattern.Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            var last = i == segments.Length - 1;
            if (segments[i] == "**")
            {
                // Any number of whole segments, none included.
                regex.Append(last ? ".*" : "(?:[^/]+/)*");
                continue;
            }

            foreach (var c in segments[i])
            {
                regex.Append(c switch
                {
                    '*' => "[^/]*",
                    '?' => "[^/]",
                    _ => Regex.Escape(c.ToString()),
                });
            }

            if (!last)
            {
                regex.Append('/');
            }
        }

        return new Regex(regex.Append('$').ToString(), RegexOptions.CultureInvariant);
    }
}
