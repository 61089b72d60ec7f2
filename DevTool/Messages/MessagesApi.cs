using System.Text;
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

        group.MapPost("/", SendMessage).WithValidation<SendMessageRequest>()
            .WithSummary("Send a test message to a queue");
        return group;
    }

    public static async Task<Results<Created<SendMessageResponse>, ValidationProblem, ProblemHttpResult>> SendMessage(
        SendMessageRequest request, BrokerClient broker, IOptions<LimitsOptions> limits, CancellationToken cancellationToken)
    {
        var max = limits.Value.MaxMessageBytes;
        var bytes = Encoding.UTF8.GetByteCount(request.Body!);
        if (bytes > max)
        {
            return TypedResults.Problem(
                $"'body' is {bytes} bytes in UTF-8; the limit is {max} bytes (Limits:MaxMessageBytes).",
                statusCode: StatusCodes.Status413PayloadTooLarge,
                title: "The request is too large.");
        }

        var sent = await broker.SendAsync(new QueueRef(request.QueueId, request.QueueName), request.Body!, cancellationToken);
        return TypedResults.Created((string?)null, sent);
    }
}
