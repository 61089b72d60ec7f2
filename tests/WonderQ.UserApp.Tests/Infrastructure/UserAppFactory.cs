using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http;
using WonderQ.UserApp.Listen;

namespace WonderQ.UserApp.Tests.Infrastructure;

/// <summary>
/// The UserApp in process, pointed at a real broker. Its stdout reports go to <see cref="Output"/>; the retry and
/// backoff delays are shortened so that a broker restart is waited out in a second or two, not half a minute.
/// </summary>
public sealed class UserAppFactory(Uri brokerUrl, IDictionary<string, string>? settings = null, TimeProvider? clock = null)
    : WebApplicationFactory<WonderQ.UserApp.Program>
{
    public LineCollector Output { get; } = new();

    /// <summary>The bodies reported as <c>Processing message: &lt;body&gt;</c>, in the order they were processed.</summary>
    public IReadOnlyList<string> ProcessedBodies =>
        [.. Output.Lines.Where(l => l.StartsWith(Prefix, StringComparison.Ordinal)).Select(l => l[Prefix.Length..])];

    /// <summary>The app's warnings and errors.</summary>
    public LogCollector Logs { get; } = new();

    /// <summary>Sees each request the app sends the broker first; a response it returns is answered instead.</summary>
    public Func<HttpRequestMessage, HttpResponseMessage?>? BrokerRequest { get; set; }

    /// <summary>Sees each answer of the broker's; a response it returns is answered instead, as a proxy that lost it would.</summary>
    public Func<HttpRequestMessage, HttpResponseMessage, HttpResponseMessage?>? BrokerAnswer { get; set; }

    /// <summary>Holds a request back this long before it goes to the broker, unless the app cancels it first.</summary>
    public Func<HttpRequestMessage, TimeSpan?>? BrokerDelay { get; set; }

    private const string Prefix = "Processing message: ";

    /// <summary>True for the listener's acknowledgement of a message: <c>DELETE /messages/{id}</c>.</summary>
    public static bool IsAcknowledgement(HttpRequestMessage request) =>
        request.Method == HttpMethod.Delete && request.RequestUri!.AbsolutePath.StartsWith("/messages/", StringComparison.Ordinal);

    /// <summary>Holds every acknowledgement back for half a minute, unless the app cancels it first.</summary>
    public void HoldAcknowledgements() => BrokerDelay = request => IsAcknowledgement(request) ? TimeSpan.FromSeconds(30) : null;

    protected override IHost CreateHost(IHostBuilder builder) => InProcessStart.Start(builder, base.CreateHost);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Broker:Url", brokerUrl.ToString());
        builder.UseSetting("Broker:RetryBaseDelay", "00:00:00.050");
        builder.UseSetting("UserApp:ListenerInitialBackoff", "00:00:00.200");
        builder.UseSetting("UserApp:ListenerMaxBackoff", "00:00:01");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(services =>
        {
            services.Replace(ServiceDescriptor.Singleton(new MessageOutput(Output)));
            services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(Logs);
            if (clock is not null)
            {
                services.Replace(ServiceDescriptor.Singleton(clock));
            }

            services.ConfigureAll<HttpClientFactoryOptions>(options =>
                options.HttpMessageHandlerBuilderActions.Add(handlers => handlers.AdditionalHandlers.Add(new BrokerRequestHook(this))));
        });
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Output.Dispose();
        }
    }

    /// <summary>Innermost in the client's pipeline, so it sees every attempt, retries included.</summary>
    private sealed class BrokerRequestHook(UserAppFactory factory) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (factory.BrokerDelay?.Invoke(request) is { } delay)
            {
                await Task.Delay(delay, cancellationToken);
            }

            if (factory.BrokerRequest?.Invoke(request) is { } answer)
            {
                return answer;
            }

            var response = await base.SendAsync(request, cancellationToken);
            if (factory.BrokerAnswer?.Invoke(request, response) is { } replaced)
            {
                response.Dispose();
                return replaced;
            }

            return response;
        }
    }
}
