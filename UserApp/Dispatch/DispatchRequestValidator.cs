using FluentValidation;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Validation;

namespace WonderQ.UserApp.Dispatch;

public sealed class DispatchRequestValidator : AbstractValidator<DispatchRequest>
{
    public DispatchRequestValidator(IOptions<LimitsOptions> limits, IOptions<UserAppOptions> options)
    {
        var maxStub = options.Value.MaxStub;
        RuleFor(r => r.QueueId).ValidId();
        RuleFor(r => r.QueueName).ValidQueueName(limits.Value);
        this.RequireQueue(r => r.QueueId is not null || r.QueueName is not null);
        RuleFor(r => r.Body)
            .NotEmptyWhenGiven().WithMessage("'body' must not be empty; leave it out to send stub messages.");
        RuleFor(r => r.Stub)
            .InclusiveBetween(1, maxStub).WithMessage($"'stub' must be a whole number from 1 to {maxStub} (UserApp:MaxStub).")
            // With a body, stub is not read, so no value of it can be wrong.
            .When(r => r.Body is null);
    }
}
