using System.Runtime.CompilerServices;

namespace IntegrationTests.Infrastructure;

/// <summary>
/// The tests call the services and stand-ins on 127.0.0.1. A web proxy set in the environment (as on
/// many company laptops) would get those calls: .NET sends even loopback calls to it unless NO_PROXY
/// lists them. So before any test runs, loopback goes into NO_PROXY, for the test process and the
/// processes it starts, as the workshop command does for itself.
/// </summary>
internal static class NoProxyForLoopback
{
    [ModuleInitializer]
    internal static void GoAroundForLoopback() => Workshop.Steps.LocalhostProxy.Bypass();
}
