using System.Runtime.InteropServices;

namespace Workshop;

/// <summary>Console output: colour when a person is watching, plain text when piped or tested.</summary>
public static class Ui
{
    private static readonly object Gate = new();
    private static readonly bool Colour = !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null
        && (!OperatingSystem.IsWindows() || WindowsConsole.TryEnableColour());

    /// <summary>
    /// How the attendee starts workshop, for the commands its messages suggest: `./workshop`, unless
    /// the launcher says otherwise (workshop.cmd and workshop.ps1 set WORKSHOP_COMMAND).
    /// </summary>
    public static string Command { get; } = Environment.GetEnvironmentVariable("WORKSHOP_COMMAND") is { Length: > 0 } command ? command : "./workshop";

    public static void Line(string text = "") => Write(text, null);
    public static void Ok(string text) => Write("[ok]   " + text, "32");
    public static void Warn(string text) => Write("[warn] " + text, "33");
    public static void Fail(string text) => Write("[FAIL] " + text, "31");
    public static void Info(string text) => Write(text, "36");

    public static void Error(string text)
    {
        lock (Gate)
        {
            Console.Error.WriteLine(Colour ? $"\e[31mworkshop: {text}\e[0m" : $"workshop: {text}");
        }
    }

    /// <summary>A service's own log line, prefixed with its name as docker compose does.</summary>
    public static void Prefixed(string name, int width, int colourIndex, string text)
    {
        string[] colours = ["36", "35", "34", "33", "32"];
        var prefix = name.PadRight(width) + " | ";
        Write(Colour ? $"\e[{colours[colourIndex % colours.Length]}m{prefix}\e[0m{text}" : prefix + text, null);
    }

    private static void Write(string text, string? colour)
    {
        lock (Gate)
        {
            Console.Out.WriteLine(Colour && colour is not null ? $"\e[{colour}m{text}\e[0m" : text);
        }
    }
}

/// <summary>
/// A console window of Windows 10 (conhost: cmd.exe and PowerShell windows, unlike Windows Terminal)
/// prints colour codes as text until the program asks it to read them, so workshop asks.
/// </summary>
internal static class WindowsConsole
{
    private const int StdOutput = -11;
    private const int StdError = -12;
    private const uint VirtualTerminalProcessing = 0x0004;

    /// <summary>True when both standard output and standard error now read colour codes; false means no colour.</summary>
    public static bool TryEnableColour()
    {
        try
        {
            return Enable(StdOutput) && (Console.IsErrorRedirected || Enable(StdError));
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }

        static bool Enable(int stream)
        {
            var handle = GetStdHandle(stream);
            return GetConsoleMode(handle, out var mode)
                && ((mode & VirtualTerminalProcessing) != 0 || SetConsoleMode(handle, mode | VirtualTerminalProcessing));
        }
    }

    [DllImport("kernel32.dll")]
    private static extern nint GetStdHandle(int handle);

    [DllImport("kernel32.dll")]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static extern bool GetConsoleMode(nint console, out uint mode);

    [DllImport("kernel32.dll")]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static extern bool SetConsoleMode(nint console, uint mode);
}
