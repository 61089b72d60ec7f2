using Microsoft.AspNetCore.Http.HttpResults;

namespace WonderQ.UserApp.Infrastructure;

/// <summary>The problem+json answers the endpoints give besides validation failures.</summary>
public static class Problems
{
    /// <summary>A 404 served as <c>application/problem+json</c> (<c>TypedResults.NotFound(problem)</c> would say <c>application/json</c>).</summary>
    public static ProblemHttpResult NotFound(string detail) => TypedResults.Problem(
        detail,
        statusCode: StatusCodes.Status404NotFound,
        title: "Not found.",
        type: "https://tools.ietf.org/html/rfc9110#section-15.5.5");

    public static ProblemHttpResult TooLarge(string detail) => TypedResults.Problem(
        detail,
        statusCode: StatusCodes.Status413PayloadTooLarge,
        title: "The request is too large.");
}
