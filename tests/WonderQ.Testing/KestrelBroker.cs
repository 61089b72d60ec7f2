namespace WonderQ.Testing;

/// <summary>
/// The broker in process on a real socket over a SQLite file in a temp directory of its own. It can be stopped and
/// started again on the same port and file, as an operator restarting it would; the file goes when it is disposed.
/// As a fixture, it starts with the test class; <see cref="StartAsync"/> starts one in a test.
/// </summary>
public class KestrelBroker : IAsyncLifetime, IAsyncDisposable
{
    private readonly TempDatabase _database = new();
    private string[] _args;
    private KestrelApp? _app;

    public KestrelBroker()
        : this([])
    {
    }

    /// <param name="args">Command-line settings of a fixture's own (<c>--Auth:ApiKeys:0=...</c>).</param>
    /// <remarks>Not public: xunit allows a fixture one public constructor.</remarks>
    protected internal KestrelBroker(string[] args) => _args = args;

    public string DatabasePath => _database.Path;

    /// <summary>Where the broker listens; kept while it is stopped, as the address a restart takes again.</summary>
    public Uri Url { get; private set; } = null!;

    public IReadOnlyList<Uri> Addresses => Running.Addresses;

    public IServiceProvider Services => Running.Services;

    private KestrelApp Running => _app ?? throw new InvalidOperationException("The broker is stopped.");

    public static async Task<KestrelBroker> StartAsync(params string[] args)
    {
        var broker = new KestrelBroker(args);
        await broker.InitializeAsync();
        return broker;
    }

    public HttpClient CreateClient() => Running.CreateClient();

    public Task InitializeAsync() => StartOnAsync(port: 0);

    /// <summary>Stops the broker and releases its file; the file stays for a restart.</summary>
    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.DisposeAsync();
        }
    }

    public async Task RestartAsync()
    {
        await StopAsync();
        await StartOnAsync(Url.Port);
    }

    /// <summary>Restarts it with other command-line settings in place of its own, as an operator who changed them.</summary>
    public async Task RestartWithAsync(params string[] args)
    {
        _args = args;
        await RestartAsync();
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        _database.Dispose();
    }

    async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();

    private async Task StartOnAsync(int port)
    {
        _app = await KestrelApp.StartAsync(WonderQ.Broker.Program.CreateApp, port, [$"--Storage:Sqlite:Path={DatabasePath}", .. _args]);
        Url = _app.Addresses[0];
    }
}
