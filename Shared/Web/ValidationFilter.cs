using FluentValidation;

namespace WonderQ.Shared.Web;

/// <summary>Runs the FluentValidation validator of an endpoint's <typeparamref name="T"/> argument; a failure is a 400 ValidationProblem keyed by wire names.</summary>
/// <remarks>
/// Every rule is synchronous (no rule looks anything up), so validation runs synchronously: it sits on the path of
/// every request, where FluentValidation's async pipeline would only add allocations.
/// </remarks>
public sealed class ValidationFilter<T>(IValidator<T> validator) : IEndpointFilter where T : class
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        foreach (var argument in context.Arguments)
        {
            if (argument is T value)
            {
                var result = validator.Validate(value);
                if (!result.IsValid)
                {
                    return ValueTask.FromResult<object?>(TypedResults.ValidationProblem(
                        result.ToDictionary(),
                        detail: string.Join(" ", result.Errors.Select(e => e.ErrorMessage).Distinct()),
                        title: "The request is not valid."));
                }
            }
        }

        return next(context);
    }
}

public static class ValidationFilterExtensions
{
    public static RouteHandlerBuilder WithValidation<T>(this RouteHandlerBuilder builder) where T : class =>
        builder.AddEndpointFilter<ValidationFilter<T>>().ProducesValidationProblem();
}
