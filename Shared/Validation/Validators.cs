using FluentValidation;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Contracts;

namespace WonderQ.Shared.Validation;

public sealed class CreateQueueRequestValidator : AbstractValidator<CreateQueueRequest>
{
    public CreateQueueRequestValidator(IOptions<LimitsOptions> options)
    {
        RuleFor(r => r.Name).Cascade(CascadeMode.Stop)
            .NotNull().WithMessage("'name' is required.")
            .ValidQueueName(options.Value);
    }
}

public sealed class SendMessageRequestValidator : AbstractValidator<SendMessageRequest>
{
    public SendMessageRequestValidator(IOptions<LimitsOptions> options)
    {
        RuleFor(r => r.QueueId).ValidId();
        RuleFor(r => r.QueueName).ValidQueueName(options.Value);
        this.RequireQueue(r => r.QueueId is not null || r.QueueName is not null);
        RuleFor(r => r.Body)
            .NotNull().WithMessage("'body' is required and must be a string.")
            .NotEmptyWhenGiven().WithMessage("'body' must not be empty.");
    }
}

/// <summary>
/// The id and the name, each said in one answer as a consume's are; a missing queue keeps the answer the endpoint gives
/// it, and a name that breaks the rules is a 400 rather than a search that cannot find it.
/// </summary>
public sealed class FindQueueQueryValidator : AbstractValidator<FindQueueQuery>
{
    public FindQueueQueryValidator(IOptions<LimitsOptions> options)
    {
        RuleFor(q => q.Id).WholeNumber(1, long.MaxValue);
        RuleFor(q => q.Name).ValidQueueName(options.Value);
    }
}

/// <summary>A <c>{queue}</c> route segment: an id when all digits, else a name.</summary>
public sealed record QueueRoute([property: FromRoute(Name = "queue")] string Queue);

public sealed class QueueRouteValidator : AbstractValidator<QueueRoute>
{
    public QueueRouteValidator(IOptions<LimitsOptions> options) => this.ValidQueueSegment(r => r.Queue, options.Value);
}

public sealed class ConsumeQueryValidator : AbstractValidator<ConsumeQuery>
{
    public ConsumeQueryValidator(IOptions<LimitsOptions> options)
    {
        var limits = options.Value;
        RuleFor(q => q.QueueId).WholeNumber(1, long.MaxValue);
        RuleFor(q => q.QueueName).ValidQueueName(limits);
        this.RequireQueue(r => r.QueueId is not null || r.QueueName is not null);
        RuleFor(q => q.Size).WholeNumber(1, limits.MaxBatchSize);
        RuleFor(q => q.WaitTime).WholeNumber(0, limits.MaxWaitTimeSeconds);
        RuleFor(q => q.VisibilityTimeout).WholeNumber(0, limits.MaxVisibilityTimeoutSeconds);
    }
}

public static class ConsumeQueryExtensions
{
    public static QueueRef Queue(this ConsumeQuery query) => new(Rules.ParseId(query.QueueId), query.QueueName);
}
