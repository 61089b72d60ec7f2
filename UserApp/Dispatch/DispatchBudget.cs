using Microsoft.Extensions.Options;
using WonderQ.Shared.Web;

namespace WonderQ.UserApp.Dispatch;

/// <summary>
/// The messages the <c>/dispatch</c> calls under way are sending, against <c>UserApp:MaxDispatchingMessages</c>. A call
/// takes its whole count before it does anything (finding or creating its queue included) and gives it back when it is
/// answered.
/// </summary>
public sealed class DispatchBudget(IOptions<UserAppOptions> options) : InFlightBudget(() => options.Value.MaxDispatchingMessages);
