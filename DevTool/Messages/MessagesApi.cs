using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Client;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Validation;
using WonderQ.Shared.Web;

namespace WonderQ.DevTool.Messages;

public static class MessagesApi
{
    public static RouteGroupBuilder MapMessages(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/messages").WithTags("Messages");

        group.MapPost("/", SendMessage).WithValidation<SendMessageRequest>().ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesBodyProblems().ProducesBrokerProblems()
            .WithSummary("Send a test message to a queue");
        return group;
    }

    public static async Task<Results<Created<SendMessageResponse>, ValidationProblem, ProblemHttpResult>> SendMessage(
        SendMessageRequest request, BrokerClient broker, IOptions<LimitsOptions> limits, CancellationToken cancellationToken)
    {
        if (Problems.MessageTooLarge(request.Body, limits.Value) is { } tooLarge)
        {
            return tooLarge;
        }

        var sent = await broker.SendAsync(new QueueRef(request.QueueId, request.QueueName), request.Body!, cancellationToken);
        return TypedResults.Created((string?)null, sent);
    }
}
