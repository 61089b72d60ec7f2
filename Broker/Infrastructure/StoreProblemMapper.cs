using Microsoft.AspNetCore.Mvc;
using WonderQ.Broker.Messages;
using WonderQ.Broker.Storage;
using WonderQ.Shared.Web;

namespace WonderQ.Broker.Infrastructure;

/// <summary>
/// The broker's own refusals to serve: both are 503, so a client backs off and retries. The store's says what it
/// knows of the cause (a full disk, a disk error, a shutdown) in its message, which is the detail. One that kept
/// nothing says so (<c>"committed": false</c>): a client can then repeat a send without storing it twice, where a
/// proxy's 5xx, or a PostgreSQL server lost during its commit, leaves that open.
/// </summary>
public sealed class StoreProblemMapper : IProblemMapper
{
    public ProblemDetails? Describe(Exception exception) => exception switch
    {
        TooManyWaitersException tooMany => Saying(ProblemExceptionHandler.Problem(503, "Too many waiting consumers.", tooMany.Message), nothingCommitted: true),
        StoreUnavailableException unavailable => Saying(
            ProblemExceptionHandler.Problem(503, "The message store is unavailable.", unavailable.Message), nothingCommitted: !unavailable.MayHaveCommitted),
        _ => null,
    };

    private static ProblemDetails Saying(ProblemDetails problem, bool nothingCommitted)
    {
        if (nothingCommitted)
        {
            problem.Extensions[Problems.CommittedMember] = false;
        }

        return problem;
    }
}
