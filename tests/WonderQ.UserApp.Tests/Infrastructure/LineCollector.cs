using System.Collections.Concurrent;
using System.Text;

namespace WonderQ.UserApp.Tests.Infrastructure;

/// <summary>Stands in for stdout: keeps every line the UserApp reports, safe to read while it writes.</summary>
public sealed class LineCollector : TextWriter
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly StringBuilder _partial = new();

    public override Encoding Encoding => Encoding.UTF8;

    public IReadOnlyList<string> Lines => [.. _lines];

    /// <summary>Runs on the writer's thread after each whole line is kept: a test can act at an exact point of the output.</summary>
    public Action<string>? LineWritten { get; set; }

    public override void WriteLine(string? value)
    {
        _lines.Enqueue(value ?? "");
        LineWritten?.Invoke(value ?? "");
    }

    public override void Write(char value)
    {
        lock (_partial)
        {
            if (value == '\n')
            {
                _lines.Enqueue(_partial.ToString().TrimEnd('\r'));
                _partial.Clear();
            }
            else
            {
                _partial.Append(value);
            }
        }
    }
}
