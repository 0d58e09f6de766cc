using ServiceDefaults.Cqrs;

namespace Users.Features.Users;

/// <summary>The answers a users request can be refused with.</summary>
internal static class UserProblems
{
    public static RequestProblemException NotFound(int id) =>
        RequestProblemException.NotFound("User not found", $"There is no user with id {id}.");

    public static RequestProblemException EmailTaken(string email) =>
        RequestProblemException.Conflict("Email already in use", $"Another user already has the email address {email}.");
}
