using System.Net;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Web;

/// <summary>
/// A send's and a delete's answers, a few bytes each, go out over a real socket with their length rather than as
/// chunks: a client knows where such an answer ends without reading chunk framing, and one speaking HTTP/1.0 keeps
/// its connection.
/// </summary>
public sealed class AnswerLengthTests(KestrelBroker broker) : IClassFixture<KestrelBroker>
{
    [Fact]
    public async Task A_send_and_a_delete_are_answered_with_their_length_not_in_chunks()
    {
        using var client = broker.CreateClient();
        var queue = await client.CreateQueueAsync();

        using var sent = await client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queue.Id, null, "hello")));
        var message = (await client.ConsumeAsync(queue.Id)).Single();
        using var deleted = await client.DeleteAsync($"/messages/{message.Id}?reservation_token={message.ReservationToken}");

        foreach (var (answer, status) in new[] { (sent, HttpStatusCode.Created), (deleted, HttpStatusCode.OK) })
        {
            answer.StatusCode.Should().Be(status);
            answer.Headers.TransferEncodingChunked.Should().NotBe(true);
            var body = await answer.Content.ReadAsByteArrayAsync();
            answer.Content.Headers.ContentLength.Should().Be(body.Length);
        }
    }
}
