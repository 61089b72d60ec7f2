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
        this.RequireQueue(r => r.QueueId is not null || r.QueueName is not null);
    }
}
