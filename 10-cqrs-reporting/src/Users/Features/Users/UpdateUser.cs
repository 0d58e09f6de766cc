using MediatR;
using Messaging;
using Messaging.Outbox;
using Microsoft.EntityFrameworkCore;
using ServiceDefaults.Cqrs;
using ServiceDefaults.Telemetry;
using Users.Apis;
using Users.Data;

namespace Users.Features.Users;

public sealed record UpdateUser(int Id, string? Name, string? Email) : IRequest<UserDto>, IValidatedRequest
{
    public Dictionary<string, string[]> Validate() => UserRules.Validate(Name, Email);
}

/// <summary>Renames the user or changes their email, and records UserChanged with the same save.</summary>
public sealed class UpdateUserHandler(UsersDb db, ServiceActivitySource tracing, ILogger<UpdateUserHandler> logger)
    : IRequestHandler<UpdateUser, UserDto>
{
    public async Task<UserDto> Handle(UpdateUser request, CancellationToken cancellationToken)
    {
        using var span = tracing.Start("users.update");
        span?.SetTag("user.id", request.Id);
        var user = await db.Users.FirstOrDefaultAsync(u => u.Id == request.Id, cancellationToken)
            ?? throw UserProblems.NotFound(request.Id);

        var email = request.Email!.Trim();
        if (await db.Users.AnyAsync(u => u.Email == email && u.Id != request.Id, cancellationToken))
        {
            throw UserProblems.EmailTaken(email);
        }

        user.Name = request.Name!.Trim();
        user.Email = email;
        // Version is a concurrency token: of two updates that read the same version, the second to
        // save fails, rather than both publishing the same version.
        user.Version++;
        db.RecordEvent(User.AggregateId(user.Id), user.Version, new UserChanged(user.Id, user.Name, user.Email));
        try
        {
            if (!await db.TrySaveChangesAsync(cancellationToken))
            {
                throw UserProblems.EmailTaken(email);
            }
        }
        catch (DbUpdateConcurrencyException)
        {
            throw RequestProblemException.Conflict(
                "User changed meanwhile", $"User {request.Id} was changed by another request at the same time; read it again and retry.");
        }

        logger.LogInformation("Updated user {UserId}", user.Id);
        return UserDto.From(user);
    }
}
