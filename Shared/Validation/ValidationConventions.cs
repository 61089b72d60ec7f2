using System.Text.Json;
using FluentValidation;

namespace WonderQ.Shared.Validation;

public static class ValidationConventions
{
    /// <summary>
    /// Names fields in errors and messages as they appear on the wire (<c>queue_name</c>, not <c>QueueName</c>),
    /// so a client can map an error back to what it sent.
    /// </summary>
    public static void UseWireNames()
    {
        ValidatorOptions.Global.PropertyNameResolver = (_, member, _) =>
            member is null ? null : JsonNamingPolicy.SnakeCaseLower.ConvertName(member.Name);
        ValidatorOptions.Global.DisplayNameResolver = (_, member, _) =>
            member is null ? null : JsonNamingPolicy.SnakeCaseLower.ConvertName(member.Name);
    }
}
