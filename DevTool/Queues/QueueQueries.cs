using FluentValidation;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Validation;

namespace WonderQ.DevTool.Queues;

/// <summary>The parameters of <c>GET /queues/{queue}</c>; <c>size</c> stays text so a bad one gets a message naming it.</summary>
public sealed record PeekQuery(
    [property: FromRoute(Name = "queue")] string Queue,
    [property: FromQuery(Name = "size")] string? Size);

public sealed class PeekQueryValidator : AbstractValidator<PeekQuery>
{
    public PeekQueryValidator(IOptions<LimitsOptions> options)
    {
        this.ValidQueueSegment(q => q.Queue, options.Value);
        RuleFor(q => q.Size).WholeNumber(1, options.Value.MaxBatchSize);
    }
}
