using FluentValidation;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Validation;

namespace WonderQ.UserApp.Listen;

public sealed class ListenerQueryValidator : AbstractValidator<ListenerQuery>
{
    public ListenerQueryValidator(IOptions<LimitsOptions> limits)
    {
        RuleFor(q => q.QueueId).WholeNumber(1, long.MaxValue);
        RuleFor(q => q.QueueName).ValidQueueName(limits.Value);
        RuleFor(q => q)
            .Must(q => q.QueueId is not null || q.QueueName is not null)
            .WithName("queue_id")
            .OverridePropertyName("queue_id")
            .WithMessage("'queue_id' or 'queue_name' is required.");
    }
}
