using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace WonderQ.Shared.Json;

/// <summary>The one set of JSON conventions every app, the typed client and the tests share.</summary>
public static class WonderQJson
{
    public static JsonSerializerOptions Options { get; } = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    /// <summary>snake_case names, millisecond UTC timestamps, duplicate properties rejected.</summary>
    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DictionaryKeyPolicy = null;
        options.AllowDuplicateProperties = false;
        options.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
        if (!options.Converters.OfType<UtcMillisecondsConverter>().Any())
        {
            options.Converters.Add(new UtcMillisecondsConverter());
        }

        options.TypeInfoResolverChain.Insert(0, WonderQJsonContext.Default);
        if (options.TypeInfoResolverChain.Count == 1)
        {
            // Problem details and anything else not generated fall back to reflection.
            options.TypeInfoResolverChain.Add(new DefaultJsonTypeInfoResolver());
        }

        return options;
    }
}
