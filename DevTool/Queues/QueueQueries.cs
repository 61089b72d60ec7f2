using FluentValidation;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Validation;

namespace WonderQ.DevTool.Queues;

/// <summary>A <c>{queue}</c> route segment: an id when all digits, else a name.</summary>
public sealed record QueueRoute([property: FromRoute(Name = "queue")] string Queue);

/// <summary>The parameters of <c>GET /queues/{queue}</c>; <c>size</c> stays text so a bad one gets a message naming it.</summary>
public sealed record PeekQuery(
    [property: FromRoute(Name = "queue")] string Queue,
    [property: FromQuery(Name = "size")] string? Size);

public sealed class QueueRouteValidator : AbstractValidator<QueueRoute>
{
    public QueueRouteValidator(IOptions<LimitsOptions> options)
    {
        RuleFor(r => r.Queue).ValidQueueName(options.Value).When(r => !QueueNames.IsAllDigits(r.Queue));
        RuleFor(r => r.Queue).Must(QueueSegments.IsValidId).When(r => QueueNames.IsAllDigits(r.Queue))
            .WithMessage(QueueSegments.IdMessage);
    }
}

public sealed class PeekQueryValidator : AbstractValidator<PeekQuery>
{
    public PeekQueryValidator(IOptions<LimitsOptions> options)
    {
        RuleFor(q => q.Queue).ValidQueueName(options.Value).When(q => !QueueNames.IsAllDigits(q.Queue));
        RuleFor(q => q.Queue).Must(QueueSegments.IsValidId).When(q => QueueNames.IsAllDigits(q.Queue))
            .WithMessage(QueueSegments.IdMessage);
        RuleFor(q => q.Size).WholeNumber(1, options.Value.MaxBatchSize);
    }
}

/// <summary>A route segment of all digits names a queue by id (queue names may not be all digits).</summary>
internal static class QueueSegments
{
    public const string IdMessage = "'queue' must be a queue id (a positive integer) or a queue name.";

    public static bool IsValidId(string segment) => long.TryParse(segment, out var id) && id > 0;
}
