using Microsoft.AspNetCore.Http.HttpResults;
using WonderQ.Shared.Validation;
using WonderQ.Shared.Web;

namespace WonderQ.Broker.Infrastructure;

/// <summary>
/// Query and route values arrive as text so that a bad one gets a 400 naming the field and its range instead of a
/// binding failure that names a C# type.
/// </summary>
public static class QueryParameters
{
    /// <summary>Parses an optional whole number; returns the problem to answer when it is not one within range.</summary>
    public static ValidationProblem? WholeNumber(string? raw, string name, long min, long max, long fallback, out long value)
    {
        value = fallback;
        if (raw is null)
        {
            return null;
        }

        if (Rules.TryParseWholeNumber(raw, out value) && value >= min && value <= max)
        {
            return null;
        }

        var message = Rules.WholeNumberMessage(name, min, max);
        return Problems.Invalid(name, message);
    }
}
