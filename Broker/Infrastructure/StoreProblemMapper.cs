using Microsoft.AspNetCore.Mvc;
using WonderQ.Broker.Messages;
using WonderQ.Broker.Storage;
using WonderQ.Shared.Web;

namespace WonderQ.Broker.Infrastructure;

/// <summary>
/// The broker's own refusals to serve: both are 503, so a client backs off and retries. The store's says what it
/// knows of the cause (a full disk, a disk error, a shutdown) in its message, which is the detail.
/// </summary>
public sealed class StoreProblemMapper : IProblemMapper
{
    public ProblemDetails? Describe(Exception exception) => exception switch
    {
        TooManyWaitersException tooMany => ProblemExceptionHandler.Problem(503, "Too many waiting consumers.", tooMany.Message),
        StoreUnavailableException unavailable => ProblemExceptionHandler.Problem(503, "The message store is unavailable.", unavailable.Message),
        _ => null,
    };
}
