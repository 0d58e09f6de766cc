using Accounts.Apis;
using Accounts.Data;
using MediatR;
using Microsoft.EntityFrameworkCore;

namespace Accounts.Features.Accounts;

public sealed record GetAccount(int Id) : IRequest<AccountDto>;

public sealed class GetAccountHandler(AccountsDb db) : IRequestHandler<GetAccount, AccountDto>
{
    public async Task<AccountDto> Handle(GetAccount request, CancellationToken cancellationToken)
    {
        var account = await db.Accounts.AsNoTracking().FirstOrDefaultAsync(a => a.Id == request.Id, cancellationToken)
            ?? throw AccountProblems.NotFound(request.Id);
        return AccountDto.From(account);
    }
}
