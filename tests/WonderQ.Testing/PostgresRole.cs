using Npgsql;

namespace WonderQ.Testing;

/// <summary>
/// A login role of one test's own on the server of a <see cref="PostgresServer.CreateSchema"/> connection string, for
/// a broker that must connect as a user with less than the tests' own rights. Dropped, with whatever it owns, when
/// disposed.
/// </summary>
public sealed class PostgresRole : IAsyncDisposable
{
    private readonly string _adminConnectionString;

    private PostgresRole(string adminConnectionString, string name, string password)
    {
        _adminConnectionString = adminConnectionString;
        Name = name;
        var builder = new NpgsqlConnectionStringBuilder(adminConnectionString) { Username = name, Password = password };
        Schema = builder.SearchPath!;
        ConnectionString = builder.ConnectionString;
    }

    public string Name { get; }

    /// <summary>The schema the admin connection string's search path names, which the role's shares.</summary>
    public string Schema { get; }

    /// <summary>The admin connection string, logging in as this role.</summary>
    public string ConnectionString { get; }

    /// <summary>
    /// Creates the role with the role <paramref name="attributes"/> given beside <c>LOGIN</c> (<c>CONNECTION LIMIT 0</c>),
    /// then runs <paramref name="grants"/>, which may name it and its schema.
    /// </summary>
    public static async Task<PostgresRole> CreateAsync(
        string adminConnectionString, string attributes = "", Func<PostgresRole, string>? grants = null)
    {
        var role = new PostgresRole(adminConnectionString, $"u{Guid.NewGuid():N}", Guid.NewGuid().ToString("N"));
        var password = new NpgsqlConnectionStringBuilder(role.ConnectionString).Password;
        await role.ExecuteAsync($"CREATE ROLE {role.Name} LOGIN PASSWORD '{password}' {attributes}");
        if (grants?.Invoke(role) is { } sql)
        {
            await role.ExecuteAsync(sql);
        }

        return role;
    }

    /// <summary>Runs <paramref name="sql"/> as the tests' own user, which may alter the role.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_adminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync() => await ExecuteAsync($"DROP OWNED BY {Name}; DROP ROLE {Name}");
}
