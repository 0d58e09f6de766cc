namespace Repository.Tests;

/// <summary>Signals sent to a process the tests started, as a terminal or Docker would send them.</summary>
public static class Signals
{
    public const int HangUp = 1;
    public const int Interrupt = 2;
    public const int Terminate = 15;

    public static void Send(int pid, int signal) => _ = Kill(pid, signal);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);
}
