using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Client;

namespace WonderQ.Shared.Web;

/// <summary>
/// For the apps in front of the broker: a request's calls to it end shortly after the app begins to stop. The host
/// waits for every request under way before it exits, and a call to a broker that takes connections but never answers
/// (stopped, hung) would hold it for the client's whole Broker:TotalTimeout, half a minute, after a Ctrl-C.
/// </summary>
public static class StoppingRequests
{
    /// <summary>
    /// Gives each request a <see cref="HttpContext.RequestAborted"/> that is cancelled when its client leaves, as before,
    /// or <see cref="BrokerClientOptions.StopGrace"/> after the app begins to stop; a request cut short by the stop is a 503 saying so.
    /// </summary>
    public static IApplicationBuilder UseStoppingRequests(this IApplicationBuilder app, string appName)
    {
        var lifetime = app.ApplicationServices.GetRequiredService<IHostApplicationLifetime>();
        var time = app.ApplicationServices.GetService<TimeProvider>() ?? TimeProvider.System;
        var grace = app.ApplicationServices.GetRequiredService<IOptions<BrokerClientOptions>>().Value.StopGrace;
        return app.Use(async (context, next) =>
        {
            var client = context.RequestAborted;
            using var aborted = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
            // Disposed before the source they cancel: disposing a registration waits for its callback to finish.
            using (client.Register(static source => ((CancellationTokenSource)source!).Cancel(), aborted))
            using (lifetime.ApplicationStopping.Register(() => aborted.CancelAfter(grace)))
            {
                context.RequestAborted = aborted.Token;
                try
                {
                    await next(context);
                }
                catch (OperationCanceledException ex) when (aborted.IsCancellationRequested && !client.IsCancellationRequested)
                {
                    throw new AppStoppingException(StoppedDetail(appName, context.Request.Method), ex);
                }
                finally
                {
                    // The exception handler writes its answer with it.
                    context.RequestAborted = client;
                }
            }
        });
    }

    /// <summary>
    /// What the caller of a request cut short by the stop is told. A GET or HEAD of these apps only reads from the broker,
    /// so it cannot have been done in part: telling it that what it asked may have been done all the same (as every
    /// dashboard refresh under way at a Ctrl-C was told, and the log said in a warning) sent its reader looking for a
    /// change that cannot have happened.
    /// </summary>
    private static string StoppedDetail(string appName, string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method)
            ? $"The {appName} is shutting down and stopped waiting for the broker's answer; it asked only to read, so nothing was "
                + "changed. Try again once the app is back."
            : $"The {appName} is shutting down and stopped waiting for the broker: what it asked of the broker may have been done "
                + "all the same. Try again once the app is back.";
}

/// <summary>A request cut short because the app is stopping: a 503, as a retry once the app is back may succeed.</summary>
public sealed class AppStoppingException(string detail, Exception inner) : Exception(detail, inner);
