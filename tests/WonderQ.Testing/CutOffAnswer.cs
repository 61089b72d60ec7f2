using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace WonderQ.Testing;

/// <summary>
/// An answer whose problem+json body gives half of itself and then fails, though its Content-Length promised all: as a
/// proxy, or a broker that went away while writing it, leaves one.
/// </summary>
public static class CutOffAnswer
{
    public static HttpResponseMessage Of(HttpStatusCode status, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var content = new StreamContent(new CutOffStream(bytes[..(bytes.Length / 2)]));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/problem+json");
        content.Headers.ContentLength = bytes.Length;
        return new HttpResponseMessage(status) { Content = content };
    }

    /// <summary>A read-once stream that gives its bytes and then fails, as a connection closed before the body's end.</summary>
    private sealed class CutOffStream(byte[] start) : Stream
    {
        private int _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var left = start.Length - _read;
            if (left == 0)
            {
                throw new IOException("The response ended prematurely.");
            }

            var read = Math.Min(left, count);
            Array.Copy(start, _read, buffer, offset, read);
            _read += read;
            return read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
