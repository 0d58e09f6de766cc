using System.Runtime.CompilerServices;

namespace IntegrationTests.Infrastructure;

/// <summary>
/// The tests call the services on 127.0.0.1, and the services call each other there. A web proxy set
/// in the environment (as on many company laptops) would get those calls: .NET sends even loopback
/// calls to it unless NO_PROXY lists them. So before any test runs, loopback goes into NO_PROXY, for
/// the test process and the services it starts, as the workshop command does for itself.
/// </summary>
internal static class NoProxyForLoopback
{
    [ModuleInitializer]
    internal static void GoAroundForLoopback() => Workshop.Steps.LocalhostProxy.Bypass();
}
