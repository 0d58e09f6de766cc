namespace IntegrationTests;

/// <summary>users alone, on its own empty database.</summary>
public sealed class UsersFixture() : ServiceFixture("Users");

public sealed class AccountsFixture() : ServiceFixture("Accounts");
