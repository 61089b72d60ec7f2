using System.ComponentModel.DataAnnotations;

namespace WonderQ.DevTool.Dashboard;

/// <summary>Section <c>Dashboard</c>: how often the page asks for fresh data and how it shows what it got.</summary>
public sealed class DashboardOptions : IValidatableObject
{
    public const string Section = "Dashboard";

    /// <summary>The pause between one refresh's answer and the next request; one request at a time, so a slow broker is not piled on.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How old the last good answer may be before the page marks its data stale and says how old it is.</summary>
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>A longer body shows this many characters and a button for the rest: laying out a hundred bodies of 256 KiB took the page tens of seconds.</summary>
    [Range(100, 1_000_000, ErrorMessage = "Dashboard:PreviewCharacters must be from 100 to 1000000.")]
    public int PreviewCharacters { get; set; } = 2000;

    /// <summary>
    /// The most queue rows the page lays out, the first by id of those its filter matches: with every row laid out, the
    /// list of 100,000 queues took the tab a minute and 7 GB to show, and 10,000 took 5–6 s.
    /// </summary>
    [Range(10, 100_000, ErrorMessage = "Dashboard:MaxQueueRows must be from 10 to 100000.")]
    public int MaxQueueRows { get; set; } = 1000;

    /// <summary>
    /// The most peeks (<c>GET /queues/{queue}</c>) the DevTool answers at once. Each holds the messages it read from the
    /// broker until its caller has read them all, up to 100 bodies of 256 KiB: twenty callers reading slowly held 1.7 GB
    /// of the DevTool's memory (and more of the broker's), and it takes up to 1,000 connections. A page peeks one queue
    /// at a time.
    /// </summary>
    [Range(1, 1000, ErrorMessage = "Dashboard:MaxConcurrentPeeks must be from 1 to 1000.")]
    public int MaxConcurrentPeeks { get; set; } = 8;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var refreshValid = RefreshInterval >= TimeSpan.FromMilliseconds(100) && RefreshInterval <= TimeSpan.FromMinutes(1);
        if (!refreshValid)
        {
            yield return new ValidationResult("Dashboard:RefreshInterval must be from 00:00:00.100 to 00:01:00.", [nameof(RefreshInterval)]);
        }

        // Compared with RefreshInterval only when that is valid, which is said otherwise on its own.
        if (StaleAfter <= TimeSpan.Zero || StaleAfter > TimeSpan.FromHours(1) || (refreshValid && StaleAfter <= RefreshInterval))
        {
            yield return new ValidationResult(
                "Dashboard:StaleAfter must be more than Dashboard:RefreshInterval and at most 01:00:00.", [nameof(StaleAfter)]);
        }
    }
}
