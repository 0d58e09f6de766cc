using MediatR;
using Microsoft.EntityFrameworkCore;
using Users.Apis;
using Users.Data;

namespace Users.Features.Users;

/// <summary>Every user, by id.</summary>
public sealed record ListUsers : IRequest<UserDto[]>;

public sealed class ListUsersHandler(UsersDb db) : IRequestHandler<ListUsers, UserDto[]>
{
    public Task<UserDto[]> Handle(ListUsers request, CancellationToken cancellationToken) =>
        db.Users.AsNoTracking().OrderBy(u => u.Id).Select(u => UserDto.From(u)).ToArrayAsync(cancellationToken);
}
