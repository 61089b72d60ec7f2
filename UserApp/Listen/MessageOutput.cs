using WonderQ.Shared.Web;

namespace WonderQ.UserApp.Listen;

/// <summary>
/// Where processed messages are reported: one <c>Processing message: &lt;body&gt;</c> line each, on stdout by default.
/// Written directly rather than through the logger, whose format would add prefixes, and flushed at once so a
/// reader of the pipe sees each line as it happens. Tests hand in their own writer.
/// </summary>
public sealed class MessageOutput(TextWriter writer)
{
    private readonly Lock _lock = new();

    public void Processing(string body)
    {
        // A body is anyone's input: escaped, it cannot end its line and forge the next one.
        var line = "Processing message: " + LogText.Printable(body);
        lock (_lock)
        {
            writer.WriteLine(line);
            writer.Flush();
        }
    }
}
