using Microsoft.Extensions.Options;
using WonderQ.DevTool.Dashboard;
using WonderQ.Shared.Web;

namespace WonderQ.DevTool.Queues;

/// <summary>
/// The peeks being answered, against <c>Dashboard:MaxConcurrentPeeks</c>. A peek's slot is held until its answer has
/// been written (a caller that reads slowly keeps the messages in memory as long), not only while the broker is asked.
/// </summary>
public sealed class PeekGate(IOptions<DashboardOptions> options) : InFlightBudget(() => options.Value.MaxConcurrentPeeks);
