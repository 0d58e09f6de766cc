namespace Repository.Tests;

/// <summary>
/// What the tests that run a whole step and its README (`workshop up`, compose) change for a machine
/// that builds and tests beside them, as CI's two saturated cores do: the attempt timeout of the calls
/// to accounts (1 s in the classroom, step 07 on). There the first call to a cold accounts can take
/// longer; given up and retried, it counts as a failure towards the circuit that the README opens on
/// cue, or fails a POST that is not retried. No README command waits on accounts, so no output changes.
/// </summary>
internal static class LoadedMachine
{
    public static readonly IReadOnlyDictionary<string, string> Environment = new Dictionary<string, string>
    {
        ["Resilience__Accounts__AttemptTimeout"] = "00:00:10",
        ["Resilience__Accounts__Timeout"] = "00:00:30",
    };
}
