using Microsoft.AspNetCore.Mvc;
using WonderQ.Broker.Messages;
using WonderQ.Broker.Storage;
using WonderQ.Shared.Web;

namespace WonderQ.Broker.Infrastructure;

/// <summary>The broker's own refusals to serve: both are 503, so a client backs off and retries.</summary>
public sealed class StoreProblemMapper : IProblemMapper
{
    public ProblemDetails? Describe(Exception exception) => exception switch
    {
        TooManyWaitersException tooMany => ProblemExceptionHandler.Problem(503, "Too many waiting consumers.", tooMany.Message),
        StoreUnavailableException => ProblemExceptionHandler.Problem(
            503, "The message store is unavailable.", "The broker could not reach its storage. Try again shortly."),
        _ => null,
    };
}
