using System.Net;
using Npgsql;
using WonderQ.Broker.Storage.Postgres;

namespace WonderQ.Broker.Tests.Storage.Postgres;

/// <summary>
/// A PostgreSQL server that fails the broker's requests is logged once an <c>Outages:LogInterval</c>, with a count of
/// the failures only counted since the last line: none said when there were none, and one said as one.
/// </summary>
public sealed class FailureLogTests
{
    [Fact]
    public async Task Failed_requests_are_logged_once_an_interval_with_a_count_that_reads_right()
    {
        // A table held by another transaction: each read waits out the command timeout, and fails as an outage.
        var connectionString = new NpgsqlConnectionStringBuilder(PostgresServer.CreateSchema()) { CommandTimeout = 1 }.ConnectionString;
        var log = new CommitWriterLog(typeof(PostgresDatabase));
        await using var broker = BrokerApplication.OnPostgres(connectionString);
        await using var app = broker.WithLog(log);
        using var client = app.CreateClient();
        using (var served = await client.GetAsync("/queues"))
        {
            served.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        await using var holder = new NpgsqlConnection(connectionString);
        await holder.OpenAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand("LOCK TABLE queues IN ACCESS EXCLUSIVE MODE", holder, transaction))
        {
            await hold.ExecuteNonQueryAsync();
        }

        await FailReadsAsync(client, 2);
        broker.FakeClock.Advance(TimeSpan.FromSeconds(10));
        await FailReadsAsync(client, 1);

        log.Entries.Select(entry => entry.Message).Should().SatisfyRespectively(
            first => first.Should().StartWith("The PostgreSQL database failed a request: ").And.NotContain("more such"),
            second => second.Should().EndWith("(1 more such failure since the last of these lines)"));
    }

    private static async Task FailReadsAsync(HttpClient client, int count)
    {
        for (var read = 0; read < count; read++)
        {
            using var answer = await client.GetAsync("/queues");
            answer.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            // A read changes nothing, so the broker can say it kept nothing.
            (await answer.Content.ReadAsStringAsync()).Should().Contain("\"committed\":false");
        }
    }
}
