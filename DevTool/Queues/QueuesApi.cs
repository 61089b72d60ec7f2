using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using WonderQ.DevTool.Dashboard;
using WonderQ.Shared.Client;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Validation;
using WonderQ.Shared.Web;

namespace WonderQ.DevTool.Queues;

/// <summary>
/// The inspection endpoints, and the create and delete the dashboard offers. Each is one call to the broker through
/// <see cref="BrokerClient"/>; the broker's refusals and absences become problem+json in <see cref="ProblemExceptionHandler"/>.
/// </summary>
public static class QueuesApi
{
    public static RouteGroupBuilder MapQueues(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/queues").WithTags("Queues");

        group.MapGet("/", ListQueues).ProducesBrokerProblems()
            .WithSummary("Every queue with its message counts");
        group.MapGet("/{queue}", PeekMessages).WithValidation<PeekQuery>().ProducesProblem(StatusCodes.Status404NotFound)
            .Produces(StatusCodes.Status304NotModified).ProducesBrokerProblems()
            .WithSummary("The oldest messages of a queue, in flight or not, without claiming them");
        group.MapPost("/", CreateQueue).WithValidation<CreateQueueRequest>().ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity).ProducesBodyProblems().ProducesBrokerProblems()
            .WithSummary("Create a queue");
        group.MapDelete("/{queue}", DeleteQueue).WithValidation<QueueRoute>().ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesBrokerProblems()
            .WithSummary("Delete a queue and all its messages");
        return group;
    }

    public static async Task<Ok<IReadOnlyList<QueueCounts>>> ListQueues(BrokerClient broker, CancellationToken cancellationToken) =>
        TypedResults.Ok(await broker.ListQueuesAsync(cancellationToken));

    /// <summary>
    /// The dashboard polls this every second, so it passes the page's If-None-Match on to the broker: a queue that has
    /// not changed is answered 304 all the way, rather than with every body again.
    /// </summary>
    public static async Task<Results<Ok<IReadOnlyList<MessageDto>>, StatusCodeHttpResult, ValidationProblem, ProblemHttpResult>> PeekMessages(
        [AsParameters] PeekQuery query,
        HttpContext context,
        BrokerClient broker,
        PeekGate gate,
        IOptions<LimitsOptions> limits,
        IOptions<DashboardOptions> dashboard,
        IOptions<OutageOptions> outages,
        CancellationToken cancellationToken)
    {
        if (gate.TryTake(1) is not { } slot)
        {
            context.Response.Headers.RetryAfter = outages.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            return TypedResults.Problem(new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "Too many peeks at once.",
                Detail = $"The DevTool is answering its maximum of {dashboard.Value.MaxConcurrentPeeks} peeks at once (Dashboard:MaxConcurrentPeeks): "
                    + "try again once they are answered, or raise the setting.",
            });
        }

        // Released once the answer is written, which is when its messages leave memory.
        context.Response.RegisterForDispose(slot);
        var size = Rules.ParseOr(query.Size, limits.Value.DefaultPeekSize);
        var ifNoneMatch = context.Request.Headers.IfNoneMatch;
        var peek = await broker.PeekIfChangedAsync(
            QueueRef.FromRouteSegment(query.Queue), size, ifNoneMatch.Count == 0 ? null : ifNoneMatch.ToString(), cancellationToken);
        if (peek.ETag is { } tag)
        {
            context.Response.Headers.ETag = tag;
            context.Response.Headers.CacheControl = "private, no-cache";
        }

        return peek.Messages is { } messages
            ? TypedResults.Ok(messages)
            : TypedResults.StatusCode(StatusCodes.Status304NotModified);
    }

    public static async Task<Results<Created<QueueDto>, ValidationProblem>> CreateQueue(
        CreateQueueRequest request, BrokerClient broker, CancellationToken cancellationToken)
    {
        var queue = await broker.CreateQueueAsync(request.Name!, cancellationToken);
        // No Location: the DevTool has no resource that is the queue itself (its /queues/{queue} is the queue's messages).
        return TypedResults.Created((string?)null, queue);
    }

    public static async Task<Results<Ok<SuccessResponse>, ProblemHttpResult, ValidationProblem>> DeleteQueue(
        [AsParameters] QueueRoute route, BrokerClient broker, CancellationToken cancellationToken)
    {
        var queue = QueueRef.FromRouteSegment(route.Queue);
        return await broker.DeleteQueueAsync(queue, cancellationToken)
            ? TypedResults.Ok(new SuccessResponse(true))
            : Problems.NotFound($"There is no queue with {queue}.", withSuccessFlag: true);
    }
}
