using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Client;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Validation;
using WonderQ.Shared.Web;

namespace WonderQ.UserApp.Listen;

public static class ListenApi
{
    public static IEndpointRouteBuilder MapListen(this IEndpointRouteBuilder routes)
    {
        var listen = routes.MapGroup("/listen").WithTags("Listen");
        // A GET, as SPEC has it, but not safe: it starts a loop, and a HEAD must start none.
        listen.MapGet("/", Listen).WithValidation<ConsumeQuery>().RefusesHead()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesBrokerProblems()
            .WithSummary("Start a background loop that consumes a queue and logs each message to stdout");
        listen.MapDelete("/", StopListening).WithValidation<ListenerQuery>().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Stop a queue's listener loop");

        routes.MapGroup("/listeners").WithTags("Listen")
            .MapGet("/", ListListeners)
            .WithSummary("Every running listener loop with its processed count");
        return routes;
    }

    public static async Task<Results<Accepted<ListenerView>, Ok<ListenerView>, ValidationProblem, ProblemHttpResult>> Listen(
        [AsParameters] ConsumeQuery query,
        ListenerRegistry registry,
        BrokerClient broker,
        IOptions<UserAppOptions> options,
        CancellationToken cancellationToken)
    {
        var queue = query.Queue();
        var running = registry.Find(queue);
        if (running is not null && queue.Id is not null)
        {
            return TypedResults.Ok(running.View(listening: true));
        }

        // A name alone is asked of the broker even when a loop runs under it: the queue may have been deleted and
        // created again under a new id, and the loop of the deleted one is no listener of the new one.
        QueueDto? found;
        try
        {
            found = await broker.FindQueueAsync(queue, cancellationToken);
        }
        catch (BrokerException ex) when (running is not null && ex is BrokerUnavailableException or BrokerRefusedAppException)
        {
            // The broker cannot say now, or will not take this app's calls; the loop runs, waits that out itself, and
            // its view says why.
            return TypedResults.Ok(running.View(listening: true));
        }

        if (found is null)
        {
            return Problems.NotFound($"There is no queue with {queue}. Dispatch to a 'queue_name' first to create it.");
        }

        var defaults = options.Value;
        var settings = new ListenSettings(
            Rules.ParseOr(query.Size, defaults.ListenerSize),
            Rules.ParseOr(query.WaitTime, defaults.ListenerWaitTimeSeconds),
            Rules.ParseOr(query.VisibilityTimeout, defaults.ListenerVisibilityTimeoutSeconds));
        var (listener, started) = registry.Start(new QueueSummary(found.Id, found.Name), settings);
        if (listener is null)
        {
            return TypedResults.Problem(new ProblemDetails
            {
                Status = StatusCodes.Status429TooManyRequests,
                Title = "Too many listeners.",
                Detail = $"The UserApp runs its maximum of {defaults.MaxListeners} listener loops (UserApp:MaxListeners). "
                    + "Stop one with DELETE /listen (GET /listeners shows them), or raise the setting.",
            });
        }

        return started
            ? TypedResults.Accepted("/listeners", listener.View(listening: true))
            : TypedResults.Ok(listener.View(listening: true));
    }

    public static Ok<ListenerView[]> ListListeners(ListenerRegistry registry) =>
        TypedResults.Ok(registry.List().Select(l => l.View(listening: !l.IsStopping)).ToArray());

    public static async Task<Results<Ok<ListenerView>, ValidationProblem, ProblemHttpResult>> StopListening(
        [AsParameters] ListenerQuery query, ListenerRegistry registry)
    {
        var queue = new QueueRef(Rules.ParseId(query.QueueId), query.QueueName);
        return await registry.StopAsync(queue) is { } stopped
            ? TypedResults.Ok(stopped.View(listening: false))
            : Problems.NotFound($"No listener runs for the queue with {queue}. GET /listeners shows those that do.");
    }
}
