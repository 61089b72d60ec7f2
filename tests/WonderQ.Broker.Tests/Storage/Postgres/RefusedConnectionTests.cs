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
    private readonly string _role = $"u{Guid.NewGuid():N}";
    private readonly string _connectionString = PostgresServer.CreateSchema();
    private BrokerApplication? _broker;

    public async Task InitializeAsync()
    {
        var schema = new NpgsqlConnectionStringBuilder(_connectionString).SearchPath;
        await ExecuteAsync($"CREATE ROLE {_role} LOGIN; GRANT USAGE, CREATE ON SCHEMA {schema} TO {_role}");
    }

    public async Task DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }

        await ExecuteAsync($"DROP OWNED BY {_role}; DROP ROLE {_role}");
    }

    [Fact]
    public async Task A_send_the_server_refused_to_connect_for_says_nothing_was_committed_and_one_it_failed_midway_does_not()
    {
        // Without pooling each request connects anew, as a pool does once a restart has broken its connections.
        _broker = BrokerApplication.OnPostgres(new NpgsqlConnectionStringBuilder(_connectionString)
        {
            Username = _role,
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

        await ExecuteAsync($"ALTER ROLE {_role} NOLOGIN");
        var refused = await SendAsync(client, queue.Id, "never reached the server");
        refused.GetProperty("committed").GetBoolean().Should().BeFalse();
        refused.GetProperty("detail").GetString().Should().Be("The PostgreSQL database is unavailable. Try again shortly.");

        await ExecuteAsync($"ALTER ROLE {_role} LOGIN");
        var stored = await client.SendAsync(queue.Id, "sent once the server let the broker in again");
        (await client.PeekAsync(queue.Id)).Select(m => m.Id).Should().Contain(stored);
    }

    private static async Task<JsonElement> SendAsync(HttpClient client, long queueId, string body)
    {
        using var answer = await client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queueId, null, body)));
        return await answer.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
