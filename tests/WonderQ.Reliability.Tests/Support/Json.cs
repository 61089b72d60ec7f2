using System.Text;

namespace WonderQ.Reliability.Tests.Support;

public static class Json
{
    /// <summary>Exactly these bytes, labelled as JSON (or as <paramref name="mediaType"/>; null for no Content-Type).</summary>
    public static ByteArrayContent Raw(byte[] bytes, string? mediaType = "application/json")
    {
        var content = new ByteArrayContent(bytes);
        if (mediaType is not null)
        {
            // Unvalidated: some tests send a header HttpClient would refuse to build (an empty charset, say).
            content.Headers.TryAddWithoutValidation("Content-Type", mediaType);
        }

        return content;
    }

    public static ByteArrayContent Raw(string text, string? mediaType = "application/json") => Raw(Encoding.UTF8.GetBytes(text), mediaType);

    /// <summary>A name no other test uses, valid as a queue name.</summary>
    public static string UniqueQueueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 33, 80)];
}
