using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using FluentValidation;

namespace WonderQ.Shared.Validation;

public static class ValidationConventions
{
    // FluentValidation asks for a rule's name on every run, valid input included: converting it each time showed in
    // the send path's profile, and the answer never changes.
    private static readonly ConcurrentDictionary<MemberInfo, string> _wireNames = new();

    /// <summary>
    /// Names fields in errors and messages as they appear on the wire (<c>queue_name</c>, not <c>QueueName</c>),
    /// so a client can map an error back to what it sent.
    /// </summary>
    public static void UseWireNames()
    {
        ValidatorOptions.Global.PropertyNameResolver = (_, member, _) => member is null ? null : WireName(member);
        ValidatorOptions.Global.DisplayNameResolver = (_, member, _) => member is null ? null : WireName(member);
    }

    private static string WireName(MemberInfo member) =>
        _wireNames.GetOrAdd(member, static m => JsonNamingPolicy.SnakeCaseLower.ConvertName(m.Name));
}
