using System.Text;

namespace Workshop.Readme;

/// <summary>
/// Splits one README command line into words the way a POSIX shell would for the simple commands the
/// READMEs use: single quotes, double quotes, backslash escapes and backslash-newline continuations.
/// Pipes, redirections, command substitution and chaining are refused: a README command is one
/// program with its arguments, so it runs the same on every operating system.
/// </summary>
public static class ShellWords
{
    public static IReadOnlyList<string> Split(string command)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        var inWord = false;

        for (var i = 0; i < command.Length; i++)
        {
            var c = command[i];
            switch (c)
            {
                case '\\' when i + 1 < command.Length && command[i + 1] == '\n':
                    i++;
                    break;
                case '\\' when i + 1 < command.Length:
                    current.Append(command[++i]);
                    inWord = true;
                    break;
                case '\'':
                    var close = command.IndexOf('\'', i + 1);
                    if (close < 0)
                    {
                        throw new FormatException("unterminated single quote");
                    }

                    current.Append(command, i + 1, close - i - 1);
                    i = close;
                    inWord = true;
                    break;
                case '"':
                    i = ReadDoubleQuoted(command, i + 1, current);
                    inWord = true;
                    break;
                case ' ' or '\t' or '\n' or '\r':
                    if (inWord)
                    {
                        words.Add(current.ToString());
                        current.Clear();
                        inWord = false;
                    }

                    break;
                case '|' or '>' or '<' or ';' or '&' or '`':
                    throw new FormatException($"'{c}' is shell syntax; a README command must be a single program call");
                case '$' when i + 1 < command.Length && (command[i + 1] == '(' || command[i + 1] == '{' || char.IsLetter(command[i + 1])):
                    throw new FormatException("shell variables and substitutions are not supported in README commands");
                default:
                    current.Append(c);
                    inWord = true;
                    break;
            }
        }

        if (inWord)
        {
            words.Add(current.ToString());
        }

        return words;
    }

    private static int ReadDoubleQuoted(string command, int start, StringBuilder current)
    {
        for (var i = start; i < command.Length; i++)
        {
            var c = command[i];
            if (c == '"')
            {
                return i;
            }

            if (c == '\\' && i + 1 < command.Length && command[i + 1] is '"' or '\\' or '$' or '`')
            {
                current.Append(command[++i]);
            }
            else if (c == '$' || c == '`')
            {
                throw new FormatException("shell variables and substitutions are not supported in README commands");
            }
            else
            {
                current.Append(c);
            }
        }

        throw new FormatException("unterminated double quote");
    }
}
