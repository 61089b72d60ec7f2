using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace WonderQ.UserApp.Tests.Client;

/// <summary>
/// A real local HTTP endpoint that misbehaves on purpose, one route per failure, and counts the attempts it saw.
/// </summary>
public sealed class FlakyBroker : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _attempts;

    private FlakyBroker(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    public int Attempts => Volatile.Read(ref _attempts);

    /// <summary>The path and query of the last request it saw.</summary>
    public string? LastTarget { get; private set; }

    /// <summary>Answers <paramref name="failures"/> times with <paramref name="status"/>, then with <paramref name="json"/>.</summary>
    public static Task<FlakyBroker> FailingThenOkAsync(int status, int failures, string json) =>
        StartAsync((broker, context) => broker._attempts <= failures
            ? Problem(context, status, "Try again.")
            : Json(context, 200, json));

    /// <summary>Answers the first request 503 with <c>Retry-After: <paramref name="seconds"/></c>, then <paramref name="json"/>.</summary>
    /// <param name="beforeFirstAnswer">Run before the 503 is written (to move a fake clock on, as a slow answer would).</param>
    public static Task<FlakyBroker> UnavailableOnceThenOkAsync(int seconds, string json, Action? beforeFirstAnswer = null) =>
        UnavailableOnceThenOkAsync(seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), json, beforeFirstAnswer);

    /// <summary>Answers the first request 503 with <c>Retry-After: <paramref name="retryAfter"/></c> as given (an HTTP date, say), then <paramref name="json"/>.</summary>
    public static Task<FlakyBroker> UnavailableOnceThenOkAsync(string retryAfter, string json, Action? beforeFirstAnswer = null) =>
        StartAsync((broker, context) =>
        {
            if (broker._attempts > 1)
            {
                return Json(context, 200, json);
            }

            beforeFirstAnswer?.Invoke();

            context.Response.Headers.RetryAfter = retryAfter;
            return Problem(context, 503, "Busy.");
        });

    /// <summary>Answers every request with <paramref name="status"/> and a problem+json body.</summary>
    public static Task<FlakyBroker> AlwaysAsync(int status, string detail, string? errorsJson = null) =>
        StartAsync((_, context) => Problem(context, status, detail, errorsJson));

    /// <summary>Waits <paramref name="delay"/> before answering <paramref name="json"/> (the client may give up first).</summary>
    public static Task<FlakyBroker> SlowAsync(TimeSpan delay, string json) =>
        StartAsync(async (_, context) =>
        {
            await Task.Delay(delay, context.RequestAborted);
            await Json(context, 200, json);
        });

    /// <summary>Answers <paramref name="json"/> once <paramref name="answer"/> is done (the client may give up first).</summary>
    public static Task<FlakyBroker> HoldingAsync(Task answer, string json) =>
        StartAsync(async (_, context) =>
        {
            await answer.WaitAsync(context.RequestAborted);
            await Json(context, 200, json);
        });

    /// <summary>Answers every request with <paramref name="answer"/>: a broker a test scripts itself.</summary>
    public static Task<FlakyBroker> AnsweringAsync(RequestDelegate answer) => StartAsync((_, context) => answer(context));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static async Task<FlakyBroker> StartAsync(Func<FlakyBroker, HttpContext, Task> handle)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var broker = new FlakyBroker(app);
        app.Run(async context =>
        {
            Interlocked.Increment(ref broker._attempts);
            broker.LastTarget = context.Request.Path + context.Request.QueryString;
            try
            {
                await handle(broker, context);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                // The client gave up on this attempt.
            }
        });
        await app.StartAsync();
        broker.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return broker;
    }

    private static Task Json(HttpContext context, int status, string json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(json);
    }

    /// <summary>The <c>trace_id</c> of every problem it answers, as the broker's carry their request's.</summary>
    public const string TraceId = "flaky:00000001";

    private static Task Problem(HttpContext context, int status, string detail, string? errorsJson = null)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/problem+json";
        var errors = errorsJson is null ? "" : $", \"errors\": {errorsJson}";
        return context.Response.WriteAsync(
            $"{{\"status\": {status}, \"title\": \"Failed on purpose.\", \"detail\": \"{detail}\"{errors}, \"trace_id\": \"{TraceId}\"}}");
    }
}
