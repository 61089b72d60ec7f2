namespace WonderQ.Shared.Contracts;

public static class QueueNames
{
    public static bool IsAllDigits(string value) => value.Length > 0 && value.All(char.IsAsciiDigit);

    public static bool HasOnlyAllowedCharacters(string value) =>
        value.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');
}
