using System.Runtime.CompilerServices;

namespace Repository.Tests;

/// <summary>
/// The tests call services and stand-ins on loopback, and run the workshop command and curl. A web
/// proxy set in the environment (as on many company laptops) would get those calls: .NET and curl send
/// even loopback calls to it unless NO_PROXY lists them. So before any test runs, loopback goes into
/// NO_PROXY, for the test process and every process it starts, as the workshop command does for itself.
/// </summary>
internal static class NoProxyForLoopback
{
    [ModuleInitializer]
    internal static void GoAroundForLoopback() => Workshop.Steps.LocalhostProxy.Bypass();
}
