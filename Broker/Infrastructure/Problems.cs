using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace WonderQ.Broker.Infrastructure;

/// <summary>
/// The problem+json answers the endpoints give besides validation failures. Each is a <see cref="ProblemHttpResult"/>:
/// <c>TypedResults.NotFound(problem)</c> and its kin would serialise the same body as plain <c>application/json</c>.
/// </summary>
public static class Problems
{
    public static ProblemHttpResult NotFound(string detail, bool withSuccessFlag = false)
    {
        var problem = new ProblemDetails
        {
            Status = StatusCodes.Status404NotFound,
            Title = "Not found.",
            Detail = detail,
            Type = "https://tools.ietf.org/html/rfc9110#section-15.5.5",
        };
        if (withSuccessFlag)
        {
            problem.Extensions["success"] = false;
        }

        return TypedResults.Problem(problem);
    }

    public static ProblemHttpResult Conflict(string detail) => TypedResults.Problem(new ProblemDetails
    {
        Status = StatusCodes.Status409Conflict,
        Title = "Conflict.",
        Detail = detail,
        Type = "https://tools.ietf.org/html/rfc9110#section-15.5.10",
    });

    public static ProblemHttpResult TooLarge(string detail) => TypedResults.Problem(
        detail,
        statusCode: StatusCodes.Status413PayloadTooLarge,
        title: "The request is too large.");

    public static ProblemHttpResult MissingQueue() => TypedResults.Problem(
        "Give 'id' or 'name' to say which queue to find.",
        statusCode: StatusCodes.Status400BadRequest,
        title: "The request is not valid.");
}
