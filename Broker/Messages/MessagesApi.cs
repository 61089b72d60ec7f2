using System.Text.Json.Serialization.Metadata;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using WonderQ.Broker.Infrastructure;
using WonderQ.Broker.Storage;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Validation;
using WonderQ.Shared.Web;
using JsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace WonderQ.Broker.Messages;

public static class MessagesApi
{
    public static RouteGroupBuilder MapMessages(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/messages").WithTags("Messages");

        // Sends and deletes are most of the broker's requests, and a consume may be held for up to
        // Limits:MaxWaitTimeSeconds. So the three take their services once, here, rather than from a DI scope made for
        // each request, and validate their input in the handler, without an endpoint filter's frame; a send's 201 and a
        // delete's 200 make no DI scope either (JsonAnswer), and a send reads its body whole before parsing it (JsonBody).
        // Each always writes a body, so they bypass the status-code middleware (see UseWonderQProblems; a send's body
        // that could not be read is answered by RequestBodyLimit). See docs/performance-journal.md (2026-12-05).
        var services = routes.ServiceProvider;
        var store = services.GetRequiredService<IMessageStore>();
        var limits = services.GetRequiredService<IOptions<LimitsOptions>>();
        var sendValidator = services.GetRequiredService<IValidator<SendMessageRequest>>();
        var sendBody = new JsonBody<SendMessageRequest>(
            (JsonTypeInfo<SendMessageRequest>)services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions.GetTypeInfo(typeof(SendMessageRequest)));
        group.MapPost("/", (HttpContext context, CancellationToken cancellationToken) =>
                SendMessage(context.Request, sendBody, store, sendValidator, limits, cancellationToken))
            .Accepts<SendMessageRequest>("application/json")
            .WithMetadata(new SkipStatusCodePagesAttribute()).ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesBodyProblems().ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Send a message; answered once it is durably committed");

        // Whatever a consume's request allocated waits with it, thousands of times over with many consumers parked. It
        // is a GET that claims messages, so not safe: a HEAD, which must change nothing, is refused rather than
        // claiming them unseen.
        var longPoll = services.GetRequiredService<LongPoll>();
        var consumeValidator = services.GetRequiredService<IValidator<ConsumeQuery>>();
        group.MapGet("/consume", ([AsParameters] ConsumeQuery query, HttpContext context, CancellationToken cancellationToken) =>
                Consume(query, context, longPoll, consumeValidator, limits, cancellationToken))
            .WithMetadata(new SkipStatusCodePagesAttribute()).RefusesHead()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Long-poll for messages and claim them for the visibility timeout");
        // Routing matches /messages/consume here too; only a number can be a message's id.
        group.MapDelete("/{id}", (string id, [FromQuery(Name = "reservation_token")] string? reservationToken, CancellationToken cancellationToken) =>
                DeleteMessage(id, reservationToken, store, cancellationToken))
            .WithMetadata(new SkipStatusCodePagesAttribute())
            .TakesRouteValue("id", id => Rules.TryParseWholeNumber(id, out _)).ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Delete (acknowledge) a message, checked against its reservation token when one is given");
        return group;
    }

    public static async Task<Results<JsonCreated<SendMessageResponse>, ValidationProblem, ProblemHttpResult, EmptyHttpResult>> SendMessage(
        HttpRequest httpRequest,
        JsonBody<SendMessageRequest> body,
        IMessageStore store,
        IValidator<SendMessageRequest> validator,
        IOptions<LimitsOptions> limits,
        CancellationToken cancellationToken)
    {
        if (await body.ReadAsync(httpRequest, cancellationToken) is not { } request)
        {
            // Kestrel refused the body as it arrived; RequestBodyLimit answers for it.
            return TypedResults.Empty;
        }

        if (ValidationFilterExtensions.Invalid(validator, request) is { } invalid)
        {
            return invalid;
        }

        if (Problems.MessageTooLarge(request.Body, limits.Value) is { } tooLarge)
        {
            return tooLarge;
        }

        var queue = new QueueRef(request.QueueId, request.QueueName);
        return await store.SendAsync(queue, request.Body!, cancellationToken) is { } sent
            ? new JsonCreated<SendMessageResponse>(new SendMessageResponse(sent.Id))
            : Problems.NotFound($"There is no queue with {queue}.");
    }

    public static async Task<Results<Ok<IReadOnlyList<MessageDto>>, ValidationProblem, ProblemHttpResult, EmptyHttpResult>> Consume(
        ConsumeQuery query,
        HttpContext context,
        LongPoll longPoll,
        IValidator<ConsumeQuery> validator,
        IOptions<LimitsOptions> limits,
        CancellationToken cancellationToken)
    {
        if (ValidationFilterExtensions.Invalid(validator, query) is { } invalid)
        {
            return invalid;
        }

        var defaults = limits.Value;
        var queue = query.Queue();
        var messages = await longPoll.ConsumeAsync(
            queue,
            Rules.ParseOr(query.Size, defaults.DefaultConsumeSize),
            TimeSpan.FromSeconds(Rules.ParseOr(query.WaitTime, defaults.DefaultWaitTimeSeconds)),
            TimeSpan.FromSeconds(Rules.ParseOr(query.VisibilityTimeout, defaults.DefaultVisibilityTimeoutSeconds)),
            cancellationToken);
        if (messages is [] && cancellationToken.IsCancellationRequested)
        {
            // The client has gone: writing [] to it would only end in the JSON writer's OperationCanceledException,
            // thrown and rethrown five times over, for every long poll abandoned (thousands when consumers stop at once).
            return TypedResults.Empty;
        }

        if (longPoll.IsStopping && !HttpProtocol.IsHttp2(context.Request.Protocol) && !HttpProtocol.IsHttp3(context.Request.Protocol))
        {
            // Waiting consumers are answered as the broker begins to stop, before Kestrel closes its connections and
            // says so itself: a consumer asking again at once on the same connection would find it reset.
            context.Response.Headers.Connection = "close";
        }

        return messages is null ? Problems.NotFound($"There is no queue with {queue}.") : TypedResults.Ok(messages);
    }

    public static async Task<Results<JsonOk<SuccessResponse>, ValidationProblem, ProblemHttpResult>> DeleteMessage(
        string id,
        string? reservationToken,
        IMessageStore store,
        CancellationToken cancellationToken)
    {
        if (QueryParameters.WholeNumber(id, "id", 1, long.MaxValue, 0, out var messageId) is { } invalid)
        {
            return invalid;
        }

        if (reservationToken is "")
        {
            // Bad input, not a lost reservation: a 409 would tell the consumer someone else has the message.
            return Problems.Invalid("reservation_token", "'reservation_token' is empty: give the token the consume returned, or leave it out.");
        }

        return await store.DeleteMessageAsync(messageId, reservationToken, cancellationToken) switch
        {
            DeleteMessageResult.Deleted => new JsonOk<SuccessResponse>(new SuccessResponse(true)),
            DeleteMessageResult.TokenMismatch => Problems.Conflict(
                $"Message {messageId} is not reserved under that reservation_token: it was never consumed, or another consumer has claimed it since. Do not process it twice."),
            _ => Problems.NotFound($"There is no message with id {messageId}.", withSuccessFlag: true),
        };
    }
}
