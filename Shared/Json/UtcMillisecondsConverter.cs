using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace WonderQ.Shared.Json;

/// <summary>Writes timestamps as ISO 8601 UTC with milliseconds (<c>2026-11-22T14:08:00.123Z</c>), the wire format.</summary>
public sealed class UtcMillisecondsConverter : JsonConverter<DateTimeOffset>
{
    private const string Format = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    // A JsonException, not Parse's FormatException: callers map the former to "the answer could not be read".
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String
        && DateTimeOffset.TryParse(reader.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value)
            ? value
            : throw new JsonException("A timestamp must be an ISO 8601 string.");

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture));
}
