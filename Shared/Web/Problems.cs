using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace WonderQ.Shared.Web;

/// <summary>The problem+json answers the endpoints give besides validation failures.</summary>
public static class Problems
{
    // ProblemHttpResult, not NotFound<ProblemDetails>/Conflict<ProblemDetails>: those serialize the problem as plain
    // application/json, and every error must be application/problem+json.
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
