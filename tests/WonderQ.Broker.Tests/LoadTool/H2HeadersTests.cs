using WonderQ.LoadTest.Wire;

namespace WonderQ.Broker.Tests.LoadTool;

/// <summary>
/// The load tool's reading of a response's <c>:status</c> (RFC 7541): indexed, a plain literal as Kestrel sends it, or
/// a Huffman-coded literal as nghttp2-based servers (Node, nginx) send a status the static table lacks.
/// </summary>
public sealed class H2HeadersTests
{
    [Theory]
    [InlineData(new byte[] { 0x88 }, 200)]
    [InlineData(new byte[] { 0x8D }, 404)]
    [InlineData(new byte[] { 0x08, 0x03, (byte)'2', (byte)'0', (byte)'1' }, 201)]
    [InlineData(new byte[] { 0x08, 0x82, 0x10, 0x03 }, 201)]          // 00010 00000 00001, then one bit of padding
    [InlineData(new byte[] { 0x08, 0x83, 0x68, 0x0D, 0x7F }, 404)]    // 011010 00000 011010, then seven
    [InlineData(new byte[] { 0x08, 0x83, 0x6C, 0x0C, 0xFF }, 503)]    // 011011 00000 011001
    [InlineData(new byte[] { 0x20, 0x48, 0x83, 0x68, 0x0F, 0xFF }, 409)] // after a table size update; with indexing; 011010 00000 011111
    public void A_status_is_read_however_it_is_coded(byte[] block, int status) =>
        H2Headers.ReadStatus(block).Should().Be(status);

    [Theory]
    [InlineData(new byte[] { 0x08, 0x81, 0x1F })]                     // 'a' (00011): not a digit
    [InlineData(new byte[] { 0x08, 0x82, 0x10, 0x02 })]               // padding that is not all ones
    [InlineData(new byte[] { 0x08, 0x83, 0x10, 0x03, 0xFF })]         // padding of 8 bits or more
    [InlineData(new byte[] { 0x08, 0x82, (byte)'2', (byte)'0' })]     // two digits
    public void A_status_that_is_not_three_digits_is_refused(byte[] block) =>
        FluentActions.Invoking(() => H2Headers.ReadStatus(block)).Should().Throw<HttpRequestException>();
}
