using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Validation;

namespace WonderQ.Shared.Web;

public static class RequestBodyLimit
{
    /// <summary>
    /// Refuses a body whose declared length is over the limit before reading a byte of it. A body without a declared
    /// length is cut off by the server's own limit (Kestrel's MaxRequestBodySize) once it passes the same size.
    /// </summary>
    public static IApplicationBuilder UseRequestBodyLimit(this IApplicationBuilder app) =>
        app.Use(next =>
        {
            // Read when the pipeline is built, at start, after the options were validated.
            var max = app.ApplicationServices.GetRequiredService<IOptions<LimitsOptions>>().Value.MaxRequestBodyBytes;
            return context =>
            {
                if (context.Request.ContentLength > max)
                {
                    throw new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge);
                }

                if (context.Request.ContentLength is null && context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: true })
                {
                    context.Features.Set<IRequestBodyPipeFeature>(new OverLimitKept(context.Request.BodyReader));
                }

                return next(context);
            };
        });

    /// <summary>
    /// A body reader that keeps saying a body is over the limit once it was. Over HTTP/2 Kestrel counts a body against
    /// its limit in AdvanceTo, after it has let go of the bytes, and System.Text.Json, giving up on the 413, advances
    /// once more to where it had started: that second call's InvalidOperationException took the 413's place, and an h2c
    /// client streaming a body too large got a 500, logged with its stack trace, where HTTP/1.1 got the 413.
    /// </summary>
    private sealed class OverLimitKept(PipeReader inner) : PipeReader, IRequestBodyPipeFeature
    {
        private BadHttpRequestException? _overLimit;

        public PipeReader Reader => this;

        public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            if (_overLimit is not null)
            {
                throw _overLimit;
            }

            try
            {
                inner.AdvanceTo(consumed, examined);
            }
            catch (BadHttpRequestException tooLarge) when (tooLarge.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                _overLimit = tooLarge;
                throw;
            }
        }

        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) =>
            _overLimit is not null ? ValueTask.FromException<ReadResult>(_overLimit) : inner.ReadAsync(cancellationToken);

        public override bool TryRead(out ReadResult result) =>
            _overLimit is not null ? throw _overLimit : inner.TryRead(out result);

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
    }
}
