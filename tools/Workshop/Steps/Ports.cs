using System.Net;
using System.Net.Sockets;

namespace Workshop.Steps;

public static class Ports
{
    /// <summary>True when nothing listens on the port on this machine's loopback address.</summary>
    public static bool IsFree(int port)
    {
        try
        {
            var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public static string HowToFindHolder(int port) => OperatingSystem.IsWindows()
        ? $"netstat -ano | findstr :{port}"
        : $"lsof -i :{port}";
}
