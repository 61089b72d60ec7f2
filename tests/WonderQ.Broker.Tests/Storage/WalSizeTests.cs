namespace WonderQ.Broker.Tests.Storage;

/// <summary>
/// The write-ahead log grows until a checkpoint (about 1,000 pages, 4 MB), then starts over from its beginning, and
/// is cut back then to <c>Storage:Sqlite:WalSizeLimitBytes</c>: kept at its size by default, so it is not grown
/// again, or cut to nothing at 0.
/// </summary>
public sealed class WalSizeTests
{
    [Fact]
    public async Task The_log_is_cut_back_to_its_limit_when_it_starts_over_after_a_checkpoint()
    {
        var kept = await LogSizeAfterABurstAsync(limit: null);
        var cut = await LogSizeAfterABurstAsync(limit: 0);

        kept.Should().BeGreaterThan(4_000_000, "by default the log keeps the size it grew to before its checkpoint");
        cut.Should().BeLessThan(kept - 1_500_000, "at 0 it was cut to nothing when it started over, and holds only what came after");
    }

    /// <summary>Sends 50 bodies of 100 KB one after another, past one checkpoint, and returns the log's size.</summary>
    private static async Task<long> LogSizeAfterABurstAsync(long? limit)
    {
        var settings = limit is { } bytes
            ? new Dictionary<string, string> { ["Storage:Sqlite:WalSizeLimitBytes"] = bytes.ToString(System.Globalization.CultureInfo.InvariantCulture) }
            : null;
        await using var app = new BrokerApplication(settings: settings);
        using var client = app.CreateClient();
        var queue = await client.CreateQueueAsync();
        var body = new string('w', 100_000);
        for (var i = 0; i < 50; i++)
        {
            await client.SendAsync(queue.Id, body);
        }

        return new FileInfo(app.DatabasePath + "-wal").Length;
    }
}
