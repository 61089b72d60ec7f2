using System.Globalization;
using Microsoft.AspNetCore.Mvc;
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
                else if (parameter.Name is "queue_name" or "name" && parameter.Schema is OpenApiSchema name)
                {
                    QueueNameRules(name, limits);
                }
                else if (parameter.Name == "queue" && parameter.In == ParameterLocation.Path && parameter.Schema is OpenApiSchema segment)
                {
                    // A bare string said nothing of what the segment takes: an id when all digits, else a name, so the
                    // characters of either (an id's digits may be padded with zeros, so no length is said).
                    segment.MinLength = 1;
                    segment.Pattern = "^[A-Za-z0-9_-]+$";
                    parameter.Description ??= "The queue's id (all digits) or its name.";
                }
            }

            return Task.CompletedTask;
        });

        options.AddSchemaTransformer((schema, context, _) =>
        {
            // The JSON options refuse unknown members, which the generator writes as additionalProperties: false; but
            // a problem carries extension members (RFC 9457): trace_id on every one, success on a DELETE's 404.
            if (context.JsonTypeInfo.Type.IsAssignableTo(typeof(ProblemDetails)))
            {
                schema.AdditionalPropertiesAllowed = true;
                schema.Properties ??= new Dictionary<string, IOpenApiSchema>();
                schema.Properties.TryAdd("trace_id", new OpenApiSchema
                {
                    Type = JsonSchemaType.String,
                    Description = "The request's trace id, to find it in the app's log.",
                });
            }

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

            // A request's fields are held to the same rules in a body as in a query string.
            if (request && schema.Properties is { } fields)
            {
                var limits = context.ApplicationServices.GetRequiredService<IOptions<LimitsOptions>>().Value;
                foreach (var (name, property) in fields)
                {
                    if (property is not OpenApiSchema field)
                    {
                        continue;
                    }

                    if (NumberRange(name, limits) is var (min, max, _))
                    {
                        field.Minimum = min.ToString(CultureInfo.InvariantCulture);
                        field.Maximum = max.ToString(CultureInfo.InvariantCulture);
                    }
                    else if (name is "queue_name" or "name")
                    {
                        QueueNameRules(field, limits);
                    }
                    else if (name == "body")
                    {
                        // Its limit is in UTF-8 bytes (Limits:MaxMessageBytes), which a schema's maxLength, in characters, cannot say.
                        field.MinLength = 1;
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

    /// <summary>A queue's name, as <see cref="Rules.ValidQueueName"/> holds it: not all digits, which would read as an id.</summary>
    private static void QueueNameRules(OpenApiSchema name, LimitsOptions limits)
    {
        name.MinLength = 1;
        name.MaxLength = limits.MaxQueueNameLength;
        name.Pattern = "^(?![0-9]+$)[A-Za-z0-9_-]+$";
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
