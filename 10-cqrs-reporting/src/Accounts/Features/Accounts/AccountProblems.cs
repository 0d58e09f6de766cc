using ServiceDefaults.Cqrs;

namespace Accounts.Features.Accounts;

/// <summary>The answers an accounts request can be refused with.</summary>
internal static class AccountProblems
{
    public static RequestProblemException NotFound(int id) =>
        RequestProblemException.NotFound("Account not found", $"There is no account with id {id}.");
}
