using FluentValidation;

namespace WonderQ.Shared.Web;

/// <summary>Runs the FluentValidation validator of an endpoint's <typeparamref name="T"/> argument; a failure is a 400 ValidationProblem keyed by wire names.</summary>
public sealed class ValidationFilter<T> : IEndpointFilter where T : class
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var validator = context.HttpContext.RequestServices.GetRequiredService<IValidator<T>>();
        foreach (var argument in context.Arguments)
        {
            if (argument is T value)
            {
                var result = await validator.ValidateAsync(value, context.HttpContext.RequestAborted);
                if (!result.IsValid)
                {
                    return TypedResults.ValidationProblem(
                        result.ToDictionary(),
                        detail: string.Join(" ", result.Errors.Select(e => e.ErrorMessage).Distinct()),
                        title: "The request is not valid.");
                }
            }
        }

        return await next(context);
    }
}

public static class ValidationFilterExtensions
{
    public static RouteHandlerBuilder WithValidation<T>(this RouteHandlerBuilder builder) where T : class =>
        builder.AddEndpointFilter<ValidationFilter<T>>().ProducesValidationProblem();
}
