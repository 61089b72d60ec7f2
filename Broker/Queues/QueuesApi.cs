using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using WonderQ.Broker.Infrastructure;
using WonderQ.Broker.Storage;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Validation;
using WonderQ.Shared.Web;

namespace WonderQ.Broker.Queues;

public static class QueuesApi
{
    public static RouteGroupBuilder MapQueues(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/queues").WithTags("Queues");

        group.MapPost("/", CreateQueue).WithValidation<CreateQueueRequest>().ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity).ProducesBodyProblems()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Create a queue");
        group.MapGet("/find", FindQueue).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Find a queue by id or name");
        group.MapGet("/", ListQueues).ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Every queue with its message counts");
        group.MapGet("/{queue}/messages", PeekMessages).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable).Produces(StatusCodes.Status304NotModified)
            .WithSummary("The oldest messages of a queue, in flight or not, without claiming them");
        group.MapDelete("/{queue}", DeleteQueue).WithValidation<QueueRoute>().ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Delete a queue and all its messages");
        return group;
    }

    public static async Task<Results<Created<QueueDto>, ValidationProblem, ProblemHttpResult>> CreateQueue(
        CreateQueueRequest request, IMessageStore store, IOptions<LimitsOptions> limits, CancellationToken cancellationToken)
    {
        var max = limits.Value.MaxQueues;
        var created = await store.CreateQueueAsync(request.Name!, max, cancellationToken);
        return created switch
        {
            { Queue: { } queue } => TypedResults.Created($"/queues/find?id={queue.Id}", queue),
            { Outcome: CreateQueueOutcome.NameTaken } => Problems.Conflict($"A queue named '{request.Name}' already exists."),
            // Not a 409, which callers read as the name taken (a create that raced another), nor a 503 or a 429, which
            // they retry: only deleting a queue, or a higher limit, makes room.
            _ => TypedResults.Problem(new ProblemDetails
            {
                Status = StatusCodes.Status422UnprocessableEntity,
                Title = "Too many queues.",
                Detail = $"The broker holds the most queues Limits:MaxQueues allows ({max}): delete a queue it no longer needs, or raise the limit.",
            }),
        };
    }

    public static async Task<Results<Ok<QueueDto>, ValidationProblem, ProblemHttpResult>> FindQueue(
        [AsParameters] FindQueueQuery query, IValidator<FindQueueQuery> validator, IMessageStore store, CancellationToken cancellationToken)
    {
        if (query.Id is null && query.Name is null)
        {
            return Problems.MissingQueue();
        }

        if (ValidationFilterExtensions.Invalid(validator, query) is { } invalid)
        {
            return invalid;
        }

        var queue = new QueueRef(Rules.ParseId(query.Id), query.Name);
        return await store.FindQueueAsync(queue, cancellationToken) is { } found
            ? TypedResults.Ok(found)
            : Problems.NotFound($"There is no queue with {queue}.");
    }

    public static async Task<Ok<IReadOnlyList<QueueCounts>>> ListQueues(IMessageStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.ListQueuesAsync(cancellationToken));

    /// <summary>Answers 304 to an If-None-Match that still holds (see <see cref="PeekETag"/>).</summary>
    public static async Task<Results<Ok<IReadOnlyList<MessageDto>>, StatusCodeHttpResult, ValidationProblem, ProblemHttpResult>> PeekMessages(
        string queue,
        [FromQuery(Name = "size")] string? size,
        HttpContext context,
        IMessageStore store,
        IValidator<QueueRoute> routeValidator,
        IOptions<LimitsOptions> limits,
        CancellationToken cancellationToken)
    {
        // The path before the query: a request wrong in both hears first that its queue cannot exist.
        if (ValidationFilterExtensions.Invalid(routeValidator, new QueueRoute(queue)) is { } invalidQueue)
        {
            return invalidQueue;
        }

        if (QueryParameters.WholeNumber(size, "size", 1, limits.Value.MaxBatchSize, limits.Value.DefaultPeekSize, out var count) is { } invalid)
        {
            return invalid;
        }

        var queueRef = QueueRef.FromRouteSegment(queue);
        var headers = context.Response.GetTypedHeaders();
        var ifNoneMatch = context.Request.GetTypedHeaders().IfNoneMatch;
        if (ifNoneMatch.Count > 0)
        {
            if (await store.PeekVersionsAsync(queueRef, (int)count, cancellationToken) is not { } versions)
            {
                return NotFound();
            }

            var current = PeekETag.Of(versions);
            if (PeekETag.Matches(ifNoneMatch, current))
            {
                Validated(current);
                return TypedResults.StatusCode(StatusCodes.Status304NotModified);
            }
        }

        if (await store.PeekAsync(queueRef, (int)count, cancellationToken) is not { } messages)
        {
            return NotFound();
        }

        Validated(PeekETag.Of(messages));
        return TypedResults.Ok(messages);

        ProblemHttpResult NotFound() => Problems.NotFound($"There is no queue with {queueRef}.");

        void Validated(EntityTagHeaderValue tag)
        {
            headers.ETag = tag;
            // Revalidated on every use, as the next send or claim changes the answer; private, as it holds the bodies.
            headers.CacheControl = new() { NoCache = true, Private = true };
        }
    }

    public static async Task<Results<Ok<SuccessResponse>, ValidationProblem, ProblemHttpResult>> DeleteQueue(
        [AsParameters] QueueRoute route, IMessageStore store, CancellationToken cancellationToken)
    {
        var queueRef = QueueRef.FromRouteSegment(route.Queue);
        return await store.DeleteQueueAsync(queueRef, cancellationToken)
            ? TypedResults.Ok(new SuccessResponse(true))
            : Problems.NotFound($"There is no queue with {queueRef}.", withSuccessFlag: true);
    }
}
