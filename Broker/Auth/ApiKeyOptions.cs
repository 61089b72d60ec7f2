using System.ComponentModel.DataAnnotations;
using WonderQ.Shared.Validation;

namespace WonderQ.Broker.Auth;

/// <summary>Section <c>Auth</c>. With no keys (the default) the broker is open, as suits a localhost-only process.</summary>
public sealed class ApiKeyOptions : IValidatableObject
{
    public const string Section = "Auth";

    /// <summary>Accepted bearer keys. When any is set, every endpoint but <c>/healthz</c> requires one.</summary>
    public string[] ApiKeys { get; set; } = [];

    /// <summary>
    /// Where each of <see cref="ApiKeys"/> was set (<c>Auth:ApiKeys:3</c>), in their order: the binder packs a list's
    /// items in the order of their keys, whatever numbers they were given, and a message naming the place in the list
    /// would send the operator looking for a key they never wrote. Not a setting: internal, so the binder leaves it.
    /// </summary>
    internal string[] KeyPaths { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // An empty key (say, from an unset environment variable) would otherwise be skipped and leave the broker
        // open when the operator meant to close it; a key with spaces around it could never match, since the
        // header's value is trimmed.
        for (var i = 0; i < ApiKeys.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(ApiKeys[i]))
            {
                yield return new ValidationResult(
                    $"{PathOf(i)} is empty: give it a key, or set no Auth:ApiKeys at all to run without keys.", [nameof(ApiKeys)]);
            }
            else if (ApiKeys[i].Trim().Length != ApiKeys[i].Length)
            {
                yield return new ValidationResult($"{PathOf(i)} must not start or end with spaces.", [nameof(ApiKeys)]);
            }
            else if (!Rules.IsPrintableAscii(ApiKeys[i]))
            {
                // An HTTP header carries ASCII only: no client could ever send such a key.
                yield return new ValidationResult($"{PathOf(i)} must be printable ASCII.", [nameof(ApiKeys)]);
            }
        }
    }

    /// <summary>The key's place in the configuration; its place in the list when the two cannot be matched one to one.</summary>
    private string PathOf(int index) =>
        KeyPaths.Length == ApiKeys.Length ? KeyPaths[index] : $"{Section}:{nameof(ApiKeys)}:{index}";
}
