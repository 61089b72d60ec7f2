using System.Globalization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using WonderQ.Shared.Validation;

namespace WonderQ.Shared.Web;

/// <summary>
/// The OpenAPI document as a client generator should read it. The endpoints take their numbers as text, so that
/// <c>size=abc</c> gets a message naming the field rather than a binding failure, and the generated document would
/// call them strings; and it lists every parameter of a request record as required, where a queue is named by
/// <c>queue_id</c> or <c>queue_name</c>, either.
/// </summary>
public static class OpenApiConventions
{
    public static OpenApiOptions AddWonderQConventions(this OpenApiOptions options)
    {
        options.AddOperationTransformer((operation, context, _) =>
        {
            var limits = context.ApplicationServices.GetRequiredService<IOptions<LimitsOptions>>().Value;
            foreach (var parameter in operation.Parameters?.OfType<OpenApiParameter>() ?? [])
            {
                if (NumberRange(parameter.Name, limits) is var (min, max, format))
                {
                    parameter.Schema = new OpenApiSchema
                    {
                        Type = JsonSchemaType.Integer,
                        Format = format,
                        Minimum = min.ToString(CultureInfo.InvariantCulture),
                        Maximum = max.ToString(CultureInfo.InvariantCulture),
                    };
                }
            }

            return Task.CompletedTask;
        });

        options.AddSchemaTransformer((schema, context, _) =>
        {
            // Either names the queue; neither is required on its own (a request with neither is a 400 that says so).
            if (schema.Required is { } required && required.Contains("queue_id") && required.Contains("queue_name"))
            {
                required.Remove("queue_id");
                required.Remove("queue_name");
            }

            // What a request requires it requires as a value: its records take null so that a missing field gets a
            // message naming it, but a null is refused like an absent one.
            var request = context.JsonTypeInfo.Type.Name.EndsWith("Request", StringComparison.Ordinal);
            if (request && schema.Required is { } needed)
            {
                foreach (var name in needed)
                {
                    if (schema.Properties?.TryGetValue(name, out var field) == true && field is OpenApiSchema { Type: { } type } value)
                    {
                        value.Type = type & ~JsonSchemaType.Null;
                    }
                }
            }

            // A request's numbers are held to the same ranges in a body as in a query string.
            if (request && schema.Properties is { } fields)
            {
                var limits = context.ApplicationServices.GetRequiredService<IOptions<LimitsOptions>>().Value;
                foreach (var (name, property) in fields)
                {
                    if (property is OpenApiSchema number && NumberRange(name, limits) is var (min, max, _))
                    {
                        number.Minimum = min.ToString(CultureInfo.InvariantCulture);
                        number.Maximum = max.ToString(CultureInfo.InvariantCulture);
                    }
                }
            }

            // Times are written by a converter of their own (ISO 8601 UTC with milliseconds), which leaves the
            // generator without a type for them.
            foreach (var info in context.JsonTypeInfo.Properties)
            {
                if (schema.Properties is { } properties && properties.TryGetValue(info.Name, out var property)
                    && property is OpenApiSchema { Format: "date-time", Type: null } time)
                {
                    time.Type = Nullable.GetUnderlyingType(info.PropertyType) is null ? JsonSchemaType.String : JsonSchemaType.String | JsonSchemaType.Null;
                }
            }

            return Task.CompletedTask;
        });
        return options;
    }

    /// <summary>The whole numbers the API takes as text, with the range its validation holds them to.</summary>
    private static (long Min, long Max, string Format)? NumberRange(string? name, LimitsOptions limits) => name switch
    {
        "queue_id" or "id" => (1, long.MaxValue, "int64"),
        "size" => (1, limits.MaxBatchSize, "int32"),
        "wait_time" => (0, limits.MaxWaitTimeSeconds, "int32"),
        "visibility_timeout" => (0, limits.MaxVisibilityTimeoutSeconds, "int32"),
        _ => null,
    };
}
