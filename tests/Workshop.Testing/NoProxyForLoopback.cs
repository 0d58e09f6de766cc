using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Workshop.Testing;

/// <summary>
/// The tests call the services and stand-ins on 127.0.0.1. A web proxy set in the environment (as on
/// many company laptops) would get those calls: .NET sends even loopback calls to it unless NO_PROXY
/// lists them. So before this library's first use, loopback goes into NO_PROXY, for the test process
/// and the processes it starts, as the workshop command does for itself. Every test starts its
/// services or stand-ins through this library before its first HTTP call.
/// </summary>
internal static class NoProxyForLoopback
{
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255", Justification = "A library for test programs only: it runs before any of its types is used.")]
    internal static void GoAroundForLoopback() => Workshop.Steps.LocalhostProxy.Bypass();
}
