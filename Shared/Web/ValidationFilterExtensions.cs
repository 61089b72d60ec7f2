using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;

namespace WonderQ.Shared.Web;

public static class ValidationFilterExtensions
{
    /// <summary>
    /// Runs the FluentValidation validator of the endpoint's <typeparamref name="T"/> argument before its handler; a
    /// failure is a 400 ValidationProblem keyed by wire names.
    /// </summary>
    /// <remarks>
    /// The validator (a singleton) and the argument's position are found once per endpoint, where
    /// <c>AddEndpointFilter&lt;TFilter&gt;</c> would build a filter from the request's services on every call. Every rule is
    /// synchronous (no rule looks anything up), so validation runs synchronously: it sits on the path of every
    /// request, where FluentValidation's async pipeline would only add allocations.
    /// </remarks>
    public static RouteHandlerBuilder WithValidation<T>(this RouteHandlerBuilder builder) where T : class =>
        builder.AddEndpointFilterFactory(Validate<T>).ProducesValidationProblem();

    private static EndpointFilterDelegate Validate<T>(EndpointFilterFactoryContext endpoint, EndpointFilterDelegate next) where T : class
    {
        var index = Array.FindIndex(endpoint.MethodInfo.GetParameters(), p => p.ParameterType == typeof(T));
        if (index < 0)
        {
            throw new InvalidOperationException($"{endpoint.MethodInfo.Name} has no {typeof(T).Name} parameter to validate.");
        }

        var validator = endpoint.ApplicationServices.GetRequiredService<IValidator<T>>();
        return context => context.GetArgument<T>(index) is { } value && Invalid(validator, value) is { } problem
            ? ValueTask.FromResult<object?>(problem)
            : next(context);
    }

    /// <summary>
    /// What the filter answers for an invalid <paramref name="value"/>, for a handler that validates its own
    /// argument; null when it is valid.
    /// </summary>
    public static ValidationProblem? Invalid<T>(IValidator<T> validator, T value) =>
        validator.Validate(value) is { IsValid: false } result
            ? TypedResults.ValidationProblem(
                result.ToDictionary(),
                detail: string.Join(" ", result.Errors.Select(e => e.ErrorMessage).Distinct()),
                title: Problems.InvalidTitle)
            : null;
}
