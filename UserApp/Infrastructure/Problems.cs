using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace WonderQ.UserApp.Infrastructure;

/// <summary>The problem+json answers the endpoints give besides validation failures.</summary>
public static class Problems
{
    public static NotFound<ProblemDetails> NotFound(string detail) => TypedResults.NotFound(new ProblemDetails
    {
        Status = StatusCodes.Status404NotFound,
        Title = "Not found.",
        Detail = detail,
        Type = "https://tools.ietf.org/html/rfc9110#section-15.5.5",
    });

    public static ProblemHttpResult TooLarge(string detail) => TypedResults.Problem(
        detail,
        statusCode: StatusCodes.Status413PayloadTooLarge,
        title: "The request is too large.");
}
