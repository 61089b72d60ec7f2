using System.Text.Json.Serialization;
using WonderQ.Shared.Contracts;

namespace WonderQ.Shared.Json;

/// <summary>Source-generated serializers for every wire type, so the hot paths skip reflection.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    AllowDuplicateProperties = false,
    Converters = [typeof(UtcMillisecondsConverter)])]
[JsonSerializable(typeof(QueueDto))]
[JsonSerializable(typeof(QueueCounts))]
[JsonSerializable(typeof(QueueCounts[]))]
[JsonSerializable(typeof(CreateQueueRequest))]
[JsonSerializable(typeof(SuccessResponse))]
[JsonSerializable(typeof(MessageDto))]
[JsonSerializable(typeof(MessageDto[]))]
[JsonSerializable(typeof(SendMessageRequest))]
[JsonSerializable(typeof(SendMessageResponse))]
public sealed partial class WonderQJsonContext : JsonSerializerContext;
