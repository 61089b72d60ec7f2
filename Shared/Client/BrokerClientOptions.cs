using System.ComponentModel.DataAnnotations;
using WonderQ.Shared.Validation;

namespace WonderQ.Shared.Client;

/// <summary>Section <c>Broker</c>: where the broker is and how patiently to talk to it.</summary>
public sealed class BrokerClientOptions : IValidatableObject
{
    public const string Section = "Broker";

    [Required(ErrorMessage = "Broker:Url is required.")]
    public Uri Url { get; set; } = new("http://localhost:3213");

    /// <summary>
    /// <see cref="Url"/> ending in a slash, as the client calls it and names it in what it says: relative paths resolve
    /// under the base's last slash, and a broker behind a prefix (http://host/wq) would lose it.
    /// </summary>
    public Uri BaseAddress => Url.AbsolutePath.EndsWith('/') ? Url : new Uri(Url.AbsoluteUri + "/");

    /// <summary>Sent as <c>Authorization: Bearer</c> when set, for a broker that requires API keys.</summary>
    public string? ApiKey { get; set; }

    /// <summary>How long one attempt may take, on top of a long poll's own wait time.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a call may take across all its attempts, on top of a long poll's own wait time.</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries of a transient failure (connection refused, 5xx, 408, 429, timeout); any other 4xx is never retried.</summary>
    [Range(0, 20, ErrorMessage = "Broker:MaxRetries must be from 0 to 20.")]
    public int MaxRetries { get; set; } = 6;

    /// <summary>
    /// The first retry's delay; each later one doubles it, up to <see cref="RetryMaxDelay"/>, and each wait is from half
    /// of its delay to all of it, at random.
    /// </summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest delay between two tries of the client's own; a broker's Retry-After is waited out in full.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a request's call to the broker still waits for its answer once the app begins to stop: enough for a
    /// broker that answers to answer, so that what it did is reported as done, and short of what a person pressing
    /// Ctrl-C waits for (<see cref="Web.StoppingRequests"/>).
    /// </summary>
    public TimeSpan StopGrace { get; set; } = TimeSpan.FromSeconds(1);

    internal bool StopGraceValid => StopGrace >= TimeSpan.Zero && StopGrace <= TimeSpan.FromSeconds(20);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // An empty value binds as null, which [Required] says.
        if (Url is not null && (!Url.IsAbsoluteUri || Url.Scheme is not ("http" or "https")))
        {
            yield return new ValidationResult("Broker:Url must be an absolute http(s) URL, e.g. http://localhost:3213.", [nameof(Url)]);
        }
        else if (Url is not null && Url.UserInfo.Length > 0)
        {
            // HttpClient sends no credentials from a URL, so they would only show: in the start-up line, and in every
            // error detail that names the broker, the dashboard's banner included. Not echoed here either.
            yield return new ValidationResult(
                "Broker:Url must not hold a user name or password, which this app would not send but show in its log and its errors: "
                    + "for a broker with Auth:ApiKeys, set Broker:ApiKey.",
                [nameof(Url)]);
        }
        else if (Url is not null && (Url.Query.Length > 0 || Url.Fragment.Length > 0))
        {
            // The paths of the broker's API are resolved against it: a query or fragment is dropped from every call, and
            // one after a path prefix (http://proxy/wonderq?x=1) drops the prefix too.
            yield return new ValidationResult(
                "Broker:Url must be the broker's base URL, without a query or fragment, e.g. http://localhost:3213.", [nameof(Url)]);
        }

        // An empty key is no key; one with spaces around it, or a character a header cannot carry, would fail every
        // call rather than the start.
        if (!string.IsNullOrEmpty(ApiKey) && (ApiKey.Trim().Length != ApiKey.Length || !Rules.IsPrintableAscii(ApiKey)))
        {
            yield return new ValidationResult(
                "Broker:ApiKey must be printable ASCII, without spaces at its start or end.", [nameof(ApiKey)]);
        }

        var attemptValid = AttemptTimeout > TimeSpan.Zero && AttemptTimeout <= TimeSpan.FromMinutes(10);
        if (!attemptValid)
        {
            yield return new ValidationResult("Broker:AttemptTimeout must be more than 00:00:00 and at most 00:10:00.", [nameof(AttemptTimeout)]);
        }

        // Compared with AttemptTimeout only when that is valid, which is said otherwise on its own.
        if (TotalTimeout <= TimeSpan.Zero || TotalTimeout > TimeSpan.FromHours(1) || (attemptValid && TotalTimeout < AttemptTimeout))
        {
            yield return new ValidationResult("Broker:TotalTimeout must be at least Broker:AttemptTimeout and at most 01:00:00.", [nameof(TotalTimeout)]);
        }

        if (RetryBaseDelay < TimeSpan.Zero || RetryBaseDelay > TimeSpan.FromMinutes(1))
        {
            yield return new ValidationResult("Broker:RetryBaseDelay must be from 00:00:00 to 00:01:00.", [nameof(RetryBaseDelay)]);
        }

        if (RetryMaxDelay <= TimeSpan.Zero || RetryMaxDelay > TimeSpan.FromMinutes(5))
        {
            yield return new ValidationResult("Broker:RetryMaxDelay must be more than 00:00:00 and at most 00:05:00.", [nameof(RetryMaxDelay)]);
        }

        // Also held under the host's shutdown timeout, which would cut the requests short without their answer: see
        // AddBrokerClient, which compares the two.
        if (!StopGraceValid)
        {
            yield return new ValidationResult("Broker:StopGrace must be from 00:00:00 to 00:00:20.", [nameof(StopGrace)]);
        }
    }
}
