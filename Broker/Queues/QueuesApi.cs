using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
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
            .WithSummary("Create a queue");
        group.MapGet("/find", FindQueue).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Find a queue by id or name");
        group.MapGet("/", ListQueues)
            .WithSummary("Every queue with its message counts");
        group.MapGet("/{queue}/messages", PeekMessages).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("The oldest messages of a queue, in flight or not, without claiming them");
        group.MapDelete("/{queue}", DeleteQueue).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Delete a queue and all its messages");
        return group;
    }

    public static async Task<Results<Created<QueueDto>, ValidationProblem, ProblemHttpResult>> CreateQueue(
        CreateQueueRequest request, IMessageStore store, CancellationToken cancellationToken)
    {
        var result = await store.CreateQueueAsync(request.Name!, cancellationToken);
        return result.Created is { } queue
            ? TypedResults.Created($"/queues/find?id={queue.Id}", queue)
            : Problems.Conflict($"A queue named '{request.Name}' already exists.");
    }

    public static async Task<Results<Ok<QueueDto>, ValidationProblem, ProblemHttpResult>> FindQueue(
        [AsParameters] FindQueueQuery query, IValidator<FindQueueQuery> validator, IMessageStore store, CancellationToken cancellationToken)
    {
        if (query.Id is null && query.Name is null)
        {
            return Problems.MissingQueue();
        }

        if (QueryParameters.WholeNumber(query.Id, "id", 1, long.MaxValue, 0, out var queueId) is { } invalid)
        {
            return invalid;
        }

        if (ValidationFilterExtensions.Invalid(validator, query) is { } invalidName)
        {
            return invalidName;
        }

        var queue = new QueueRef(query.Id is null ? null : queueId, query.Name);
        return await store.FindQueueAsync(queue, cancellationToken) is { } found
            ? TypedResults.Ok(found)
            : Problems.NotFound($"There is no queue with {queue}.");
    }

    public static async Task<Ok<IReadOnlyList<QueueCounts>>> ListQueues(IMessageStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.ListQueuesAsync(cancellationToken));

    public static async Task<Results<Ok<IReadOnlyList<MessageDto>>, ValidationProblem, ProblemHttpResult>> PeekMessages(
        string queue,
        [FromQuery(Name = "size")] string? size,
        IMessageStore store,
        IOptions<LimitsOptions> limits,
        CancellationToken cancellationToken)
    {
        if (QueryParameters.WholeNumber(size, "size", 1, limits.Value.MaxBatchSize, limits.Value.DefaultPeekSize, out var count) is { } invalid)
        {
            return invalid;
        }

        var queueRef = QueueRef.FromRouteSegment(queue);
        var messages = await store.PeekAsync(queueRef, (int)count, cancellationToken);
        return messages is null ? Problems.NotFound($"There is no queue with {queueRef}.") : TypedResults.Ok(messages);
    }

    public static async Task<Results<Ok<SuccessResponse>, ProblemHttpResult>> DeleteQueue(
        string queue, IMessageStore store, CancellationToken cancellationToken)
    {
        var queueRef = QueueRef.FromRouteSegment(queue);
        return await store.DeleteQueueAsync(queueRef, cancellationToken)
            ? TypedResults.Ok(new SuccessResponse(true))
            : Problems.NotFound($"There is no queue with {queueRef}.", withSuccessFlag: true);
    }
}
