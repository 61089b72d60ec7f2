using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.Options;
using JsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace WonderQ.Shared.Web;

/// <summary>
/// What an endpoint takes, read from what it binds: the query parameters (a <c>[FromQuery]</c> parameter or property
/// of an <c>[AsParameters]</c> type, or a simple one that no route segment names) and the fields of its JSON body. A
/// name outside them is refused (<see cref="RequestQuery.UseKnownQueryParameters"/>, and System.Text.Json's
/// <see cref="System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow"/> for a body) rather than silently
/// ignored, which would let a typo take a default.
/// </summary>
public sealed class EndpointParameters
{
    /// <summary>
    /// Unchecked: an endpoint this cannot read (no handler method, or a parameter that binds itself), or one left out
    /// of the API's description.
    /// </summary>
    internal static readonly EndpointParameters Unknown = new("", [], null, checksQuery: false);

    private readonly string[] _query;

    private EndpointParameters(string endpoint, string[] query, string[]? bodyFields, bool checksQuery)
    {
        Endpoint = endpoint;
        _query = query;
        BodyFields = bodyFields;
        ChecksQuery = checksQuery;
    }

    /// <summary>The endpoint as a person writes it: <c>GET /messages/consume</c>.</summary>
    public string Endpoint { get; }

    /// <summary>The fields of its JSON body; null when it reads none.</summary>
    public IReadOnlyList<string>? BodyFields { get; }

    /// <summary>
    /// Whether its query string is checked: so for an endpoint that takes query parameters or a body, not for one that
    /// takes neither (<c>GET /healthz</c>, <c>GET /queues</c>), whose query string a monitor's or a browser's
    /// cache-buster (<c>?_=123</c>) may fill without meaning anything.
    /// </summary>
    public bool ChecksQuery { get; }

    /// <summary>
    /// Whether it is known to read nothing from the query string or a body. Not so for <see cref="Unknown"/>, which may
    /// read any query parameter (and then a repeated one joined as "1,1").
    /// </summary>
    public bool TakesNothing => !ChecksQuery && !ReferenceEquals(this, Unknown);

    /// <summary>Whether it binds <paramref name="name"/> from the query string; names match without regard to case.</summary>
    public bool TakesQueryParameter(string name)
    {
        foreach (var known in _query)
        {
            if (string.Equals(known, name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The 400's detail for a query parameter the endpoint does not take.</summary>
    public string UnknownQueryParameter(string name)
    {
        var quoted = Quotable(name);
        if (_query.Length > 0)
        {
            return $"'{quoted}' is not a parameter of {Endpoint}: it takes {string.Join(", ", _query)}.";
        }

        return BodyFields is { Count: > 0 } fields
            ? $"'{quoted}' is not a parameter of {Endpoint}: it takes none in the query string; give {string.Join(", ", fields)} in the JSON body."
            : $"'{quoted}' is not a parameter of {Endpoint}: it takes none.";
    }

    /// <summary>The 400's detail for a body sent to an endpoint that takes its parameters in the query string.</summary>
    public string UnreadBody() => $"{Endpoint} reads no request body: give {string.Join(", ", _query)} in the query string.";

    /// <summary>The 400's detail for a body field the endpoint does not take.</summary>
    public string UnknownBodyField(string name) => BodyFields is { Count: > 0 } fields
        ? $"'{Quotable(name)}' is not a field of {Endpoint}: its JSON body takes {string.Join(", ", fields)}."
        : $"'{Quotable(name)}' is not a field of this request's JSON body.";

    /// <summary>A name as the detail quotes it: an unknown field's may be anything, and a detail is one line.</summary>
    private static string Quotable(string name) =>
        name.Length <= 80 && !name.Any(char.IsControl)
            ? name
            : string.Concat(name.Take(80).Select(c => char.IsControl(c) ? '?' : c)) + (name.Length > 80 ? "..." : "");

    internal static EndpointParameters Read(Endpoint endpoint, JsonSerializerOptions json)
    {
        // An endpoint left out of the API's description is not the API's to check: the OpenAPI document's own binds a
        // documentName from the query string, and a cache-buster on the document is no typo.
        if (endpoint.Metadata.GetMetadata<MethodInfo>() is not { } handler || endpoint.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is not null)
        {
            return Unknown;
        }

        var pattern = (endpoint as RouteEndpoint)?.RoutePattern;
        var query = new List<string>();
        foreach (var parameter in handler.GetParameters())
        {
            if (parameter.GetCustomAttribute<AsParametersAttribute>() is not null)
            {
                // A record's attributes may sit on its constructor's parameters rather than on its properties; minimal
                // APIs read both.
                var constructor = parameter.ParameterType.GetConstructors().MaxBy(c => c.GetParameters().Length)?.GetParameters() ?? [];
                foreach (var property in parameter.ParameterType.GetProperties(BindingFlags.Public | BindingFlags.Instance))
                {
                    var attributes = property.GetCustomAttributes().Concat(
                        constructor.Where(c => string.Equals(c.Name, property.Name, StringComparison.OrdinalIgnoreCase)).SelectMany(c => c.GetCustomAttributes()));
                    if (!AddQueryName(query, property.Name, property.PropertyType, attributes, pattern))
                    {
                        return Unknown;
                    }
                }
            }
            else if (!AddQueryName(query, parameter.Name ?? "", parameter.ParameterType, parameter.GetCustomAttributes(), pattern))
            {
                return Unknown;
            }
        }

        string[]? bodyFields = null;
        if (endpoint.Metadata.GetMetadata<IAcceptsMetadata>() is { RequestType: { } bodyType })
        {
            bodyFields = [.. json.GetTypeInfo(bodyType).Properties.Select(p => p.Name)];
        }

        var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [];
        var route = pattern?.RawText is { Length: > 1 } raw ? raw.TrimEnd('/') : pattern?.RawText ?? "/";
        var name = methods.Count > 0 ? $"{methods[0]} {route}" : route;
        return new EndpointParameters(name, [.. query.Distinct(StringComparer.OrdinalIgnoreCase)], bodyFields, query.Count > 0 || bodyFields is not null);
    }

    /// <summary>
    /// Adds the query name a parameter binds, if it binds one, as minimal APIs infer it; false for a parameter that
    /// binds itself (<c>BindAsync</c>), which may read any query parameter.
    /// </summary>
    private static bool AddQueryName(List<string> query, string name, Type type, IEnumerable<Attribute> attributes, RoutePattern? pattern)
    {
        var sources = attributes.ToList();
        if (sources.OfType<IFromQueryMetadata>().FirstOrDefault() is { } fromQuery)
        {
            query.Add(fromQuery.Name ?? name);
            return true;
        }

        if (sources.Any(a => a is IFromRouteMetadata or IFromBodyMetadata or IFromServiceMetadata or IFromHeaderMetadata or IFromFormMetadata
            or FromKeyedServicesAttribute))
        {
            return true;
        }

        var element = Nullable.GetUnderlyingType(type) ?? type;
        element = element.IsArray ? element.GetElementType()! : element;
        if (element.GetMethod("BindAsync", BindingFlags.Public | BindingFlags.Static) is not null)
        {
            return false;
        }

        if (IsParsable(element) && pattern?.GetParameter(name) is null)
        {
            query.Add(name);
        }

        return true;
    }

    /// <summary>What minimal APIs bind from a route segment or the query string when nothing says otherwise.</summary>
    private static bool IsParsable(Type type) =>
        type == typeof(string) || type.IsPrimitive || type.IsEnum || type == typeof(decimal) ||
        type.GetMethod("TryParse", BindingFlags.Public | BindingFlags.Static, [typeof(string), type.MakeByRefType()]) is not null ||
        type.GetMethod("TryParse", BindingFlags.Public | BindingFlags.Static, [typeof(string), typeof(IFormatProvider), type.MakeByRefType()]) is not null;
}

/// <summary>
/// Each endpoint's <see cref="EndpointParameters"/>, read once, on its first request, and kept: a request then pays one
/// dictionary lookup, with no allocation.
/// </summary>
public sealed class EndpointParameterCatalog(IOptions<JsonOptions> json)
{
    private readonly ConcurrentDictionary<Endpoint, EndpointParameters> _read = new();

    public EndpointParameters Of(Endpoint endpoint)
    {
        if (_read.TryGetValue(endpoint, out var known))
        {
            return known;
        }

        // Only the routes the app mapped, which routing keeps, are kept here: an endpoint made for one request (the 405
        // of a HEAD that may not run its GET) has no handler to read, and would pile up.
        return endpoint is RouteEndpoint && endpoint.Metadata.GetMetadata<MethodInfo>() is not null
            ? _read.GetOrAdd(endpoint, static (e, options) => EndpointParameters.Read(e, options), json.Value.SerializerOptions)
            : EndpointParameters.Unknown;
    }
}
