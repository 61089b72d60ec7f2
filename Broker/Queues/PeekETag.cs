using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Net.Http.Headers;
using WonderQ.Broker.Storage;

namespace WonderQ.Broker.Queues;

/// <summary>
/// The entity tag of a peek's answer. The dashboard peeks at the open queue every second; with a hundred bodies of
/// 256 KiB each, answering every poll in full cost the broker and the DevTool half a second of work and the page as
/// much again parsing it. A tag of the ids, creation times, tokens and receive counts tells every version of the answer
/// apart (see <see cref="MessageVersion"/>), so an unchanged queue is answered 304 without its bodies.
/// </summary>
internal static class PeekETag
{
    public static EntityTagHeaderValue Of(IEnumerable<MessageVersion> messages)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> numbers = stackalloc byte[20];
        foreach (var message in messages)
        {
            BinaryPrimitives.WriteInt64LittleEndian(numbers, message.Id);
            BinaryPrimitives.WriteInt64LittleEndian(numbers[8..], message.CreatedAt.ToUnixTimeMilliseconds());
            BinaryPrimitives.WriteInt32LittleEndian(numbers[16..], message.ReceiveCount);
            hash.AppendData(numbers);
            // Length first, so that no two lists of tokens run together into the same bytes.
            var token = message.ReservationToken ?? "";
            BinaryPrimitives.WriteInt32LittleEndian(numbers, token.Length);
            hash.AppendData(numbers[..4]);
            hash.AppendData(Encoding.UTF8.GetBytes(token));
        }

        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(digest[..16])}\"");
    }

    public static EntityTagHeaderValue Of(IEnumerable<Shared.Contracts.MessageDto> messages) =>
        Of(messages.Select(m => new MessageVersion(m.Id, m.CreatedAt, m.ReservationToken, m.ReceiveCount)));

    /// <summary>If-None-Match compares weakly (RFC 9110, 13.1.2); an unparsable header is as if there were none.</summary>
    public static bool Matches(IList<EntityTagHeaderValue> ifNoneMatch, EntityTagHeaderValue current) =>
        ifNoneMatch.Any(tag => tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(current, useStrongComparison: false));
}
