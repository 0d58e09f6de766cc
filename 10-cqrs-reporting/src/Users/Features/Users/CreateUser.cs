using MediatR;
using Messaging;
using Messaging.Outbox;
using Microsoft.EntityFrameworkCore;
using ServiceDefaults.Cqrs;
using ServiceDefaults.Telemetry;
using Users.Apis;
using Users.Data;

namespace Users.Features.Users;

public sealed record CreateUser(string? Name, string? Email) : IRequest<UserDto>, IValidatedRequest
{
    public Dictionary<string, string[]> Validate() => UserRules.Validate(Name, Email);
}

/// <summary>Creates the user and records UserCreated in the same transaction.</summary>
public sealed class CreateUserHandler(UsersDb db, ServiceActivitySource tracing, ILogger<CreateUserHandler> logger)
    : IRequestHandler<CreateUser, UserDto>
{
    public async Task<UserDto> Handle(CreateUser request, CancellationToken cancellationToken)
    {
        using var span = tracing.Start("users.create");
        var email = request.Email!.Trim();
        if (await db.Users.AnyAsync(u => u.Email == email, cancellationToken))
        {
            throw UserProblems.EmailTaken(email);
        }

        var user = new User { Name = request.Name!.Trim(), Email = email, Version = 1 };
        // The user's id comes from the insert, and the event names it: two saves, one transaction.
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        db.Users.Add(user);
        if (!await db.TrySaveChangesAsync(cancellationToken))
        {
            throw UserProblems.EmailTaken(email);
        }

        db.RecordEvent(User.AggregateId(user.Id), user.Version, new UserCreated(user.Id, user.Name, user.Email));
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);

        span?.SetTag("user.id", user.Id);
        UsersMetrics.Created.Inc();
        logger.LogInformation("Created user {UserId}", user.Id);
        return UserDto.From(user);
    }
}
