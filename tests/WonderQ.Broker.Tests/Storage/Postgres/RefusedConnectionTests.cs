using System.Net;
using System.Text.Json;
using Npgsql;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Storage.Postgres;

/// <summary>
/// A PostgreSQL server that refuses the broker's connections (as while it restarts) got nothing of a send, so the 503
/// says <c>"committed": false</c> and a client may send again as often as it likes; one that took the statement and
/// failed it may have committed it, and the 503 leaves that open.
/// </summary>
public sealed class RefusedConnectionTests : IAsyncLifetime
{
    private readonly string _connectionString = PostgresServer.CreateSchema();
    private PostgresRole _role = null!;
    private BrokerApplication? _broker;

    public async Task InitializeAsync() => _role = await PostgresRole.CreateAsync(
        _connectionString, grants: r => $"GRANT USAGE, CREATE ON SCHEMA {r.Schema} TO {r.Name}");

    public async Task DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }

        await _role.DisposeAsync();
    }

    [Fact]
    public async Task A_send_the_server_refused_to_connect_for_says_nothing_was_committed_and_one_it_failed_midway_does_not()
    {
        // Without pooling each request connects anew, as a pool does once a restart has broken its connections.
        _broker = BrokerApplication.OnPostgres(new NpgsqlConnectionStringBuilder(_role.ConnectionString)
        {
            Pooling = false,
            CommandTimeout = 1,
        }.ConnectionString);
        using var client = _broker.CreateClient();
        var queue = await client.CreateQueueAsync();

        await using (var holder = new NpgsqlConnection(_connectionString))
        {
            await holder.OpenAsync();
            await using var transaction = await holder.BeginTransactionAsync();
            await using (var hold = new NpgsqlCommand("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE", holder, transaction))
            {
                await hold.ExecuteNonQueryAsync();
            }

            var timedOut = await SendAsync(client, queue.Id, "timed out in the server");
            timedOut.TryGetProperty("committed", out _).Should().BeFalse("the server had the insert when its answer was lost");
        }

        await _role.ExecuteAsync($"ALTER ROLE {_role.Name} NOLOGIN");
        var refused = await SendAsync(client, queue.Id, "never reached the server");
        refused.GetProperty("committed").GetBoolean().Should().BeFalse();
        refused.GetProperty("detail").GetString().Should().Be("The PostgreSQL database is unavailable. Try again shortly.");

        await _role.ExecuteAsync($"ALTER ROLE {_role.Name} LOGIN");
        var stored = await client.SendAsync(queue.Id, "sent once the server let the broker in again");
        (await client.PeekAsync(queue.Id)).Select(m => m.Id).Should().Contain(stored);
    }

    /// <summary>
    /// A statement that changes nothing, timed out in the server: nothing was kept, as the 503 says, and a client may
    /// send again without a word of the message perhaps being stored (a send by name looks its queue up first).
    /// </summary>
    [Fact]
    public async Task A_read_or_a_send_s_queue_lookup_that_fails_midway_says_nothing_was_committed()
    {
        _broker = BrokerApplication.OnPostgres(new NpgsqlConnectionStringBuilder(_role.ConnectionString) { CommandTimeout = 1 }.ConnectionString);
        using var client = _broker.CreateClient();
        var queue = await client.CreateQueueAsync();
        await using var holder = new NpgsqlConnection(_connectionString);
        await holder.OpenAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand("LOCK TABLE queues IN ACCESS EXCLUSIVE MODE", holder, transaction))
        {
            await hold.ExecuteNonQueryAsync();
        }

        using var send = await client.PostAsync("/messages", Wire.Json(new SendMessageRequest(null, queue.Name, "its queue never found")));
        using var list = await client.GetAsync("/queues");

        (await send.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable)).GetProperty("committed").GetBoolean().Should().BeFalse();
        (await list.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable)).GetProperty("committed").GetBoolean().Should().BeFalse();
        await transaction.RollbackAsync();
        (await client.PeekAsync(queue.Id)).Should().BeEmpty();
    }

    private static async Task<JsonElement> SendAsync(HttpClient client, long queueId, string body)
    {
        using var answer = await client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queueId, null, body)));
        return await answer.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
    }
}
