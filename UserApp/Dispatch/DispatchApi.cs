using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Validation;
using WonderQ.Shared.Web;

namespace WonderQ.UserApp.Dispatch;

public static class DispatchApi
{
    public static RouteGroupBuilder MapDispatch(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/dispatch").WithTags("Dispatch");

        group.MapPost("/", Dispatch).WithValidation<DispatchRequest>()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict).ProducesBodyProblems()
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity).ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesBrokerProblems()
            .WithSummary("Send one message, or stub messages, to a queue, creating a queue named for the first time");
        return group;
    }

    /// <summary>
    /// Gives <c>stub</c> in the OpenAPI document the range its validator holds it to, <c>UserApp:MaxStub</c>: a setting
    /// of the UserApp's own, which the shared conventions that range the other numbers do not know.
    /// </summary>
    public static OpenApiOptions AddStubRange(this OpenApiOptions options) =>
        options.AddSchemaTransformer((schema, context, _) =>
        {
            if (context.JsonTypeInfo.Type == typeof(DispatchRequest) && schema.Properties?.TryGetValue("stub", out var stub) == true
                && stub is OpenApiSchema range)
            {
                range.Minimum = "1";
                range.Maximum = context.ApplicationServices.GetRequiredService<IOptions<UserAppOptions>>().Value.MaxStub
                    .ToString(CultureInfo.InvariantCulture);
            }

            return Task.CompletedTask;
        });

    public static async Task<Results<Ok<DispatchResponse>, ValidationProblem, ProblemHttpResult>> Dispatch(
        DispatchRequest request,
        Dispatcher dispatcher,
        DispatchBudget budget,
        IOptions<UserAppOptions> options,
        IOptions<LimitsOptions> limits,
        CancellationToken cancellationToken)
    {
        if (Problems.MessageTooLarge(request.Body, limits.Value) is { } tooLarge)
        {
            return tooLarge;
        }

        var count = request.Body is null ? request.Stub ?? 1 : 1;
        using var lease = budget.TryTake(count);
        if (lease is null)
        {
            var max = options.Value.MaxDispatchingMessages;
            return TypedResults.Problem(new ProblemDetails
            {
                Status = StatusCodes.Status429TooManyRequests,
                Title = "Too many messages being dispatched.",
                Detail = $"The dispatches under way are sending {budget.Taken} messages, and {count} more would pass the UserApp's "
                    + $"maximum of {max} at once (UserApp:MaxDispatchingMessages). Nothing was sent: try again once they are answered, "
                    + "or raise the setting.",
            });
        }

        var queue = new QueueRef(request.QueueId, request.QueueName);
        if (await dispatcher.FindOrCreateAsync(queue, cancellationToken) is not { } resolved)
        {
            return Problems.NotFound($"There is no queue with {queue}. Give a 'queue_name' alone to create one.");
        }

        var (found, created) = resolved;

        var (sent, failed) = await dispatcher.SendAsync(found, request.Body, request.Stub ?? 1, cancellationToken);
        return TypedResults.Ok(new DispatchResponse(sent.Count, sent, failed, found, created));
    }
}
