using System.Net.Mail;

namespace Users;

/// <summary>What a valid user looks like. Every rule names the field it checks.</summary>
public static class UserRules
{
    public const int MaxNameLength = 100;
    public const int MaxEmailLength = 254;

    public static Dictionary<string, string[]> Validate(string? name, string? email)
    {
        var errors = new Dictionary<string, string[]>();

        if (string.IsNullOrWhiteSpace(name))
        {
            errors["name"] = ["A name is required."];
        }
        else if (name.Trim().Length > MaxNameLength)
        {
            errors["name"] = [$"The name may be at most {MaxNameLength} characters."];
        }
        else if (name.Any(char.IsControl))
        {
            // A line break or a NUL in a name breaks every list and log line that shows it.
            errors["name"] = ["The name may not contain control characters such as line breaks."];
        }

        if (string.IsNullOrWhiteSpace(email))
        {
            errors["email"] = ["An email address is required."];
        }
        else if (email.Trim().Length > MaxEmailLength)
        {
            errors["email"] = [$"The email address may be at most {MaxEmailLength} characters."];
        }
        else if (!MailAddress.TryCreate(email.Trim(), out var address) || address.Address != email.Trim())
        {
            errors["email"] = ["The email address is not valid."];
        }

        return errors;
    }
}
