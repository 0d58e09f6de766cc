namespace Workshop.Testing.Consul;

/// <summary>
/// How the Consul stand-in misbehaves, switched at run time with <see cref="ConsulStandIn.Fault"/>, so a
/// test can check that the services survive a Consul that fails. Registrations and check runs go on
/// underneath every fault; clearing the fault (<see cref="None"/>) shows the real state again.
/// </summary>
public enum ConsulFault
{
    /// <summary>Answers as Consul does.</summary>
    None,

    /// <summary>Every request gets <c>500</c> with the plain-text body <c>No cluster leader</c>, as Consul answers while it has no leader.</summary>
    ServerError,

    /// <summary>
    /// Every request is accepted and never answered, until the fault is cleared (then it is answered
    /// normally) or the stand-in stops (then its connection is dropped). Only the caller's timeout ends it.
    /// </summary>
    Hang,

    /// <summary>
    /// The discovery reads (<c>GET /v1/health/service/…</c> and <c>/v1/catalog/services</c>) answer
    /// <c>200</c>, <c>Content-Type: application/json</c> and a body that is not JSON. Other requests answer normally.
    /// </summary>
    Garbage,

    /// <summary>
    /// The discovery reads answer as if no service were registered: <c>[]</c> from
    /// <c>/v1/health/service/…</c> and only <c>consul</c> from <c>/v1/catalog/services</c>, with their
    /// usual headers and blocking. Registrations are still accepted and kept.
    /// </summary>
    EmptyServiceList,
}
