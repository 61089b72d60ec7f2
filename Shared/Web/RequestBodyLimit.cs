using System.IO.Pipelines;
using System.Runtime.ExceptionServices;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Validation;

namespace WonderQ.Shared.Web;

public static class RequestBodyLimit
{
    /// <summary>
    /// Refuses a body whose declared length is over the limit before reading a byte of it. A body without a declared
    /// length is cut off by the server's own limit (Kestrel's MaxRequestBodySize) once it passes the same size. A body
    /// that ends before its end closes its connection (<see cref="WatchBody"/>).
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

                return context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: true } ? WatchBody(context, next) : next(context);
            };
        });

    private static async Task WatchBody(HttpContext context, RequestDelegate next)
    {
        var body = new WatchedBody(context.Request.BodyReader);
        context.Features.Set<IRequestBodyPipeFeature>(body);
        await next(context);
        if (body.EndedEarly)
        {
            if (HttpProtocol.IsHttp11(context.Request.Protocol) || HttpProtocol.IsHttp10(context.Request.Protocol))
            {
                await CloseAsync(context);
            }
        }
        else if (body.Unreadable is { } unreadable && !context.Response.HasStarted)
        {
            // Minimal APIs' binding (and the broker's JsonBody, which does as it does) catches a body it could not read
            // (over the limit as it streamed, or too slow) and leaves a bare 413 or 408, which only the status-code
            // middleware would explain, and the endpoints that always write a body of their own bypass it. Thrown
            // again, it is answered as any other refused body is.
            ExceptionDispatchInfo.Throw(unreadable);
        }
    }

    /// <summary>
    /// For an HTTP/1.x client that stopped sending mid-body (it went away, or closed its side), which nothing can be
    /// read after: Kestrel's connection is left mid-read (dotnet/aspnetcore#17840), and it logged the next read's
    /// "Reading is already in progress" with a stack trace, a line for every such client. A 400 with
    /// <c>Connection: close</c> ends Kestrel's loop of requests on the connection, and the abort its drain of the rest
    /// of the body, which fails the same way. The endpoint, which could not read its body, has usually written nothing;
    /// an answer already begun is cut off by the abort, as its client broke the request's framing.
    /// </summary>
    private static async Task CloseAsync(HttpContext context)
    {
        if (!context.Response.HasStarted)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            context.Response.Headers.Connection = "close";
            try
            {
                await context.Response.StartAsync();
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException)
            {
                // Nobody is there to read it: the header has done its part.
            }
        }

        context.Abort();
    }

    /// <summary>
    /// A body reader that notes a body that ended before its end, and keeps saying a body is over the limit once it was.
    /// Over HTTP/2 Kestrel counts a body against its limit in AdvanceTo, after it has let go of the bytes, and
    /// System.Text.Json, giving up on the 413, advances once more to where it had started: that second call's
    /// InvalidOperationException took the 413's place, and an h2c client streaming a body too large got a 500, logged
    /// with its stack trace, where HTTP/1.1 got the 413.
    /// </summary>
    private sealed class WatchedBody(PipeReader inner) : PipeReader, IRequestBodyPipeFeature
    {
        private BadHttpRequestException? _overLimit;

        /// <summary>Why the body could not be read, when Kestrel refused it (a body ended early aside).</summary>
        public BadHttpRequestException? Unreadable { get; private set; }

        /// <summary>
        /// Kestrel's 400 for a body that stopped before its end: its client went away or closed its side. Told by its
        /// message, as the reason is internal to Kestrel; a body whose chunk framing is broken is another 400, which
        /// Kestrel answers itself and which must not be cut off.
        /// </summary>
        public bool EndedEarly { get; private set; }

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
                _overLimit = Unreadable = tooLarge;
                throw;
            }
        }

        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            if (_overLimit is not null)
            {
                return ValueTask.FromException<ReadResult>(_overLimit);
            }

            var read = inner.ReadAsync(cancellationToken);
            return read.IsCompletedSuccessfully ? read : Watch(read);
        }

        public override bool TryRead(out ReadResult result)
        {
            try
            {
                return _overLimit is not null ? throw _overLimit : inner.TryRead(out result);
            }
            catch (BadHttpRequestException refused) when (Note(refused))
            {
                throw;
            }
        }

        private async ValueTask<ReadResult> Watch(ValueTask<ReadResult> read)
        {
            try
            {
                return await read;
            }
            catch (BadHttpRequestException refused) when (Note(refused))
            {
                throw;
            }
        }

        /// <summary>Notes why a read failed; false, so that the exception goes on as it was.</summary>
        private bool Note(BadHttpRequestException refused)
        {
            if (EndsEarly(refused))
            {
                EndedEarly = true;
            }
            else
            {
                Unreadable ??= refused;
            }

            return false;
        }

        private static bool EndsEarly(BadHttpRequestException exception) =>
            exception.StatusCode == StatusCodes.Status400BadRequest
            && exception.Message.StartsWith("Unexpected end of request content", StringComparison.Ordinal);

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
    }
}
