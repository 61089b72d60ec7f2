using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Telemetry;
using Polly.Timeout;
using WonderQ.Shared.Validation;
using WonderQ.Shared.Web;

namespace WonderQ.Shared.Client;

public static class BrokerClientServiceCollectionExtensions
{
    /// <summary>More than any problem the broker writes; a longer 503 is not the broker's.</summary>
    private const int MaxProblemBytes = 64 * 1024;

    /// <summary>
    /// How long a body over <see cref="BrokerClient.ExpectContinueAboveBytes"/> waits for the broker's <c>100 Continue</c>
    /// before it is sent all the same. Kestrel asks for it as soon as the broker reads the body, a round trip after the
    /// headers; something in front of the broker that never asks held each such send for SocketsHttpHandler's default
    /// of 1 s. Past it the body goes as it would without the header, so a short wait costs at most the early 413.
    /// </summary>
    private static readonly TimeSpan _expect100ContinueTimeout = TimeSpan.FromMilliseconds(250);

    /// <summary>When a call began, by the pipeline's clock.</summary>
    private static readonly ResiliencePropertyKey<long> _callStarted = new("WonderQ.CallStarted");

    /// <summary>The wait before the next try, drawn once where it is weighed against the call's time left, and waited.</summary>
    private static readonly ResiliencePropertyKey<TimeSpan> _nextDelay = new("WonderQ.NextDelay");

    /// <summary>
    /// Registers <see cref="BrokerClient"/> over <see cref="IHttpClientFactory"/>, configured from section
    /// <c>Broker</c>, with a resilience pipeline: a total timeout, retries with exponential backoff and jitter for
    /// transient failures only, and a per-attempt timeout. Both timeouts stretch by a long poll's wait time.
    /// <paramref name="outside"/> adds handlers around that pipeline, which see each call once, as it finally went. The
    /// app names the broker in its log at start.
    /// </summary>
    /// <remarks>
    /// A second call, from another module of an app that embeds the client, adds nothing and returns the first call's
    /// builder. Registered again, the client sent its <c>Via</c> twice, and every call passed through a second resilience
    /// pipeline inside the first, its retries multiplied (up to 49 tries of a call, not 7, under the default
    /// Broker:MaxRetries). Handlers given to a second call could no longer go around the pipeline, which is in place
    /// already: that throws.
    /// </remarks>
    public static IHttpClientBuilder AddBrokerClient(this IServiceCollection services, Action<IHttpClientBuilder>? outside = null)
    {
        if (services.FirstOrDefault(d => d.ServiceType == typeof(Registration) && !d.IsKeyedService)?.ImplementationInstance is Registration added)
        {
            return outside is null
                ? added.Builder
                : throw new InvalidOperationException(
                    "AddBrokerClient was called already: handlers around the broker client's pipeline can be given to its first call only.");
        }

        services.AddOptions<BrokerClientOptions>().BindSettings(BrokerClientOptions.Section)
            // The host waits for the requests under way no longer than its shutdown timeout: a grace as long or longer
            // would be cut short there, and its requests left without the 503 that says the app stopped.
            .Validate<IOptions<HostOptions>>(
                (o, h) => o.StopGrace == TimeSpan.Zero || !o.StopGraceValid || h.Value.ShutdownTimeout == Timeout.InfiniteTimeSpan
                    || o.StopGrace < h.Value.ShutdownTimeout,
                "Broker:StopGrace must be less than the host's shutdown timeout (shutdownTimeoutSeconds, 30 unless set).");
        services.AddHostedService<BrokerUrlLog>();
        services.TryAddSingleton<BrokerRefusalLog>();
        services.AddSingleton<IFailureLog>(sp => sp.GetRequiredService<BrokerRefusalLog>());

        var builder = services.AddHttpClient<BrokerClient>((sp, http) =>
        {
            var options = sp.GetRequiredService<IOptions<BrokerClientOptions>>().Value;
            http.BaseAddress = options.BaseAddress;
            // BrokerClient bounds each call itself, by the call's own wait: one timeout for every call could not be.
            http.Timeout = Timeout.InfiniteTimeSpan;
            // So that a DevTool or UserApp at this Broker:Url (itself, even) says so rather than answer as it would.
            http.DefaultRequestHeaders.Via.Add(new ViaHeaderValue("1.1", NotTheBroker.ClientVia));
            if (!string.IsNullOrEmpty(options.ApiKey))
            {
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
            }
        });

        // HttpClientHandler, the factory's own, has no Expect100ContinueTimeout.
        builder.ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { Expect100ContinueTimeout = _expect100ContinueTimeout });

        // A broker never redirects: a redirect is something else at Broker:Url (a web server sending http to https, a
        // login page), and a client that followed it sent what it was given to wherever that pointed, a send re-posted
        // whole after a 307 or 308. Set after every other configuration of this client, so that a primary handler of the
        // app's own (for a proxy, a client certificate) follows none either; BrokerClient reports the 3xx as an answer
        // that is not a broker's.
        builder.Services.PostConfigure<HttpClientFactoryOptions>(builder.Name, factory =>
            factory.HttpMessageHandlerBuilderActions.Add(handlers => FollowNoRedirects(handlers.PrimaryHandler)));

        // Handlers run in the order added, the first outermost.
        outside?.Invoke(builder);
        builder.AddResilienceHandler("broker", (pipeline, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptions<BrokerClientOptions>>().Value;
            var time = context.ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System;
            var retryLog = context.ServiceProvider.GetService<BrokerRetryLog>();
            pipeline.TimeProvider = time;
            // Polly logs every try it retries as a warning. Each call that fails for good reaches its caller, and the
            // WonderQ apps say once an outage that the broker is not answering (BrokerRetryLog, the DevTool's reachability
            // log): an app embedding the client should not have its log filled while a broker restarts.
            var telemetry = context.ServiceProvider.GetRequiredService<IOptions<TelemetryOptions>>().Value;
            pipeline.ConfigureTelemetry(new TelemetryOptions(telemetry) { SeverityProvider = _ => ResilienceEventSeverity.Debug });

            pipeline.AddTimeout(new TimeoutStrategyOptions
            {
                Name = "total",
                TimeoutGenerator = args =>
                {
                    // Asked once a call, as it starts: when, so that a Retry-After is weighed against the time left.
                    args.Context.Properties.Set(_callStarted, time.GetTimestamp());
                    return ValueTask.FromResult(options.TotalTimeout + WaitTime(args.Context));
                },
            });

            if (options.MaxRetries > 0)
            {
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = options.MaxRetries,
                    // Connection failures, timeouts, 5xx, 408 and 429; never another 4xx, which a retry cannot fix. The
                    // delay is the answer's Retry-After when it has one, else the client's backoff: past what is left of
                    // the call's budget, the total timeout would cut the wait short and report a broker that answered
                    // "busy", or refused every connection, as one that did not answer, and a send, a create or a delete
                    // none of whose tries reached it as one that may have been done.
                    ShouldHandle = async args => IsTransient(args.Outcome)
                        && !WaitsTooLong(NextDelay(args.Outcome, args.Context, args.AttemptNumber, options, time), args.Context, options, time)
                        && !await LostAgainAsync(args.Outcome, args.Context),
                    // Polly's own reads a Retry-After date against the system clock, not this pipeline's.
                    DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(args.Context.Properties.TryGetValue(_nextDelay, out var delay)
                        ? delay
                        : NextDelay(args.Outcome, args.Context, args.AttemptNumber, options, time)),
                    OnRetry = async args =>
                    {
                        retryLog?.Retrying(options.BaseAddress, BrokerClient.Describe(args.Outcome), options.MaxRetries);
                        if (args.Context.GetRequestMessage() is { } request
                            && request.Options.TryGetValue(BrokerClient.CallNoteKey, out var note)
                            && await MayHaveBeenHandledAsync(args.Outcome, args.Context.CancellationToken))
                        {
                            note.AnswerMayBeLost = true;
                        }
                    },
                });
            }

            pipeline.AddTimeout(new TimeoutStrategyOptions
            {
                Name = "attempt",
                TimeoutGenerator = args => ValueTask.FromResult(options.AttemptTimeout + WaitTime(args.Context)),
            });
        });

        services.AddSingleton(new Registration(builder));
        return builder;
    }

    /// <summary>Marks the services AddBrokerClient has added to, with the builder it returned.</summary>
    private sealed record Registration(IHttpClientBuilder Builder);

    private static void FollowNoRedirects(HttpMessageHandler handler)
    {
        try
        {
            switch (handler)
            {
                case SocketsHttpHandler { AllowAutoRedirect: true } sockets:
                    sockets.AllowAutoRedirect = false;
                    break;
                case HttpClientHandler { AllowAutoRedirect: true } client:
                    client.AllowAutoRedirect = false;
                    break;
            }
        }
        catch (InvalidOperationException)
        {
            // A handler of the app's that has sent already cannot be changed; BrokerClient still refuses what a redirect
            // it followed answered.
        }
    }

    /// <summary>
    /// The wait before retry <paramref name="attempt"/> (0 for the first): <see cref="BrokerClientOptions.RetryBaseDelay"/>
    /// doubled each time up to <see cref="BrokerClientOptions.RetryMaxDelay"/>, then anything from half of that to all of
    /// it, at random.
    /// </summary>
    /// <remarks>
    /// Doubling without a cap spends the retries in the first seconds and then waits long: a broker that restarts (2-3 s)
    /// is better met by several tries a couple of seconds apart. Polly's jittered backoff is mostly the cap itself once
    /// it gets there (two to five of six waits in the client's test), so clients a broker's restart failed together
    /// tried again together; here the cap is jittered too.
    /// </remarks>
    private static TimeSpan Backoff(int attempt, BrokerClientOptions options)
    {
        var doubled = options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, attempt);
        var ceiling = Math.Min(doubled, options.RetryMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + (Random.Shared.NextDouble() / 2)));
    }

    private static TimeSpan WaitTime(ResilienceContext context) =>
        context.GetRequestMessage() is { } request && request.Options.TryGetValue(BrokerClient.WaitTimeKey, out var wait)
            ? wait
            : TimeSpan.Zero;

    /// <summary>
    /// A second lost answer of a call whose every attempt does the work again (a send): a third attempt could store a
    /// third copy. Tried once more after the first, as a crash between the commit and the answer can store one twice.
    /// </summary>
    private static async ValueTask<bool> LostAgainAsync(Outcome<HttpResponseMessage> outcome, ResilienceContext context) =>
        context.GetRequestMessage() is { } request
        && request.Options.TryGetValue(BrokerClient.CallNoteKey, out var note)
        && note.RepeatStoresAgain
        && note.AnswerMayBeLost
        && await MayHaveBeenHandledAsync(outcome, context.CancellationToken);

    /// <summary>
    /// The wait before retry <paramref name="attempt"/>: the answer's Retry-After, else the client's backoff, whose
    /// jitter is drawn here, once, and kept for the retry strategy's delay generator.
    /// </summary>
    private static TimeSpan NextDelay(
        Outcome<HttpResponseMessage> outcome, ResilienceContext context, int attempt, BrokerClientOptions options, TimeProvider time)
    {
        var delay = RetryAfter(outcome, time) ?? Backoff(attempt, options);
        context.Properties.Set(_nextDelay, delay);
        return delay;
    }

    /// <summary>Whether <paramref name="delay"/> is as long as what is left of the call's total timeout, or longer.</summary>
    private static bool WaitsTooLong(TimeSpan delay, ResilienceContext context, BrokerClientOptions options, TimeProvider time)
    {
        var used = context.Properties.TryGetValue(_callStarted, out var started) ? time.GetElapsedTime(started) : TimeSpan.Zero;
        return delay >= options.TotalTimeout + WaitTime(context) - used;
    }

    /// <summary>
    /// How long the answer asks to be left alone, null when it does not say. RFC 9110 allows an HTTP date as well as
    /// seconds, and a proxy or load balancer in front of the broker may send one; a date passed asks for no wait.
    /// </summary>
    private static TimeSpan? RetryAfter(Outcome<HttpResponseMessage> outcome, TimeProvider time) => outcome.Result?.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => TimeSpan.FromTicks(Math.Max(0, (date - time.GetUtcNow()).Ticks)),
        _ => null,
    };

    /// <summary>
    /// Whether the broker may have done what the failed attempt asked, its answer lost: a timeout, a connection that
    /// broke once the request was sent, a 5xx (a proxy's 502 or 504, a 500 after the commit, a PostgreSQL server lost
    /// during the commit). Not a connection that was never made, nor a 408 or 429, which say the request was not
    /// handled, nor a 503 of the broker's that says it kept nothing (<see cref="Problems.CommittedMember"/>).
    /// </summary>
    private static async ValueTask<bool> MayHaveBeenHandledAsync(Outcome<HttpResponseMessage> outcome, CancellationToken cancellationToken)
    {
        if (outcome.Result is not { } response)
        {
            return outcome.Exception is { } exception && MayHaveBeenHandled(exception);
        }

        if (response.StatusCode != HttpStatusCode.ServiceUnavailable
            || !string.Equals(response.Content.Headers.ContentType?.MediaType, "application/problem+json", StringComparison.OrdinalIgnoreCase))
        {
            return (int)response.StatusCode >= 500;
        }

        try
        {
            // Buffered, bounded and read as a copy, so that the caller still reads the whole problem once the retries
            // are over; a body that stalls is cut off by the call's own timeouts, as HttpClient's buffering would be.
            await response.Content.LoadIntoBufferAsync(MaxProblemBytes, cancellationToken);
            using var problem = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken));
            return !SaysNothingCommitted(problem.RootElement);
        }
        catch (JsonException)
        {
            // Unreadable: not the broker's word that it kept nothing. Buffered, it is still there for the caller.
            return true;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            // Too long or cut off: not the broker's word that it kept nothing either. What was read of it is gone from
            // its connection, and HttpClient, buffering the answer the pipeline ends with, would throw for it (an
            // InvalidOperationException, a 500 of the app's) rather than pass the 503 on: it stands as an empty body.
            ReplaceUnreadBody(response);
            return true;
        }
        catch (OperationCanceledException)
        {
            // Polly does not dispose an answer whose check threw; its connection would stay taken.
            response.Dispose();
            throw;
        }
    }

    /// <summary>The answer's body, which a failed read has taken, as an empty one under the same content headers.</summary>
    private static void ReplaceUnreadBody(HttpResponseMessage response)
    {
        var empty = new ByteArrayContent([]);
        foreach (var header in response.Content.Headers.NonValidated)
        {
            if (!string.Equals(header.Key, "Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                empty.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        response.Content.Dispose();
        response.Content = empty;
    }

    /// <summary>As <see cref="MayHaveBeenHandledAsync"/>, for an attempt that ended without an answer.</summary>
    internal static bool MayHaveBeenHandled(Exception exception) => exception switch
    {
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError } => false,
        HttpRequestException or TimeoutRejectedException => true,
        _ => false,
    };

    /// <summary>A broker's problem that says nothing of the request was kept.</summary>
    internal static bool SaysNothingCommitted(JsonElement problem) =>
        problem.ValueKind == JsonValueKind.Object
        && problem.TryGetProperty(Problems.CommittedMember, out var committed)
        && committed.ValueKind == JsonValueKind.False;

    private static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException or TimeoutRejectedException } => true,
        { Result: { } response } => (int)response.StatusCode >= 500
            || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests,
        _ => false,
    };
}
