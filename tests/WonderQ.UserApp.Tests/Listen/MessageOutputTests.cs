using System.Globalization;
using System.Text;
using WonderQ.UserApp.Listen;

namespace WonderQ.UserApp.Tests.Listen;

/// <summary>The <c>Processing message: &lt;body&gt;</c> line as stdout gets it: UTF-8, as the UserApp's console writes it.</summary>
public sealed class MessageOutputTests
{
    private const string Prefix = "Processing message: ";

    [Fact]
    public void Bodies_that_differ_print_different_lines()
    {
        string[] bodies =
        [
            "a\nb", @"a\nb", @"a\\nb",
            "\u001b[31m", @"\u001b[31m",
            "\\", @"\\",
            // A surrogate without its pair, which an encoder writes as U+FFFD, the pair the wrong way round, and a whole pair.
            "\ud800", "\ufffd", @"\ud800", "\udc00\ud83d", "\ud83d\ude00",
        ];

        var lines = bodies.Select(Stdout).ToList();

        lines.Should().OnlyHaveUniqueItems();
        lines.Should().OnlyContain(line => !line.Contains('\n'), "each is one line");
        Stdout("\ud83d\ude00 caf\u00e9").Should().Be("\ud83d\ude00 caf\u00e9", "printable text, a pair of surrogates included, is written as it is");
    }

    [Fact]
    public void Every_line_reads_back_to_exactly_its_body()
    {
        // Bodies made of what an escape is made of, and of what gets escaped, from a fixed seed.
        const string alphabet = "\\nru0b1d8 \n\r\t\u001b\u0085\u2028\u202e\ud800\udc00\ufffd\u00e9";
        var random = new Random(20261201);
        var bodies = Enumerable.Range(0, 5000)
            .Select(_ => new string([.. Enumerable.Range(0, random.Next(0, 12)).Select(_ => alphabet[random.Next(alphabet.Length)])]));

        foreach (var body in bodies)
        {
            Unescape(Stdout(body)).Should().Be(body, "the line for {0} reads back to it", Escaped(body));
        }
    }

    /// <summary>The body's line as stdout's bytes carry it, decoded again, without the prefix.</summary>
    private static string Stdout(string body)
    {
        using var bytes = new MemoryStream();
        using (var stdout = new StreamWriter(bytes, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), leaveOpen: true))
        {
            new MessageOutput(stdout).Processing(body);
        }

        var line = Encoding.UTF8.GetString(bytes.ToArray());
        line.Should().StartWith(Prefix).And.EndWith(Environment.NewLine);
        return line[Prefix.Length..^Environment.NewLine.Length];
    }

    /// <summary>Reads a printed body back: <c>\\</c>, <c>\n</c>, <c>\r</c> and <c>\uXXXX</c> are escapes, anything else itself.</summary>
    private static string Unescape(string printed)
    {
        var body = new StringBuilder();
        for (var i = 0; i < printed.Length; i++)
        {
            if (printed[i] != '\\')
            {
                body.Append(printed[i]);
                continue;
            }

            _ = printed[++i] switch
            {
                '\\' => body.Append('\\'),
                'n' => body.Append('\n'),
                'r' => body.Append('\r'),
                'u' => body.Append((char)int.Parse(printed.AsSpan(i + 1, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture)),
                var other => throw new FormatException($"'\\{other}' is no escape"),
            };
            i += printed[i] == 'u' ? 4 : 0;
        }

        return body.ToString();
    }

    /// <summary>A body as a C# literal would show it, for a failure message.</summary>
    private static string Escaped(string body) =>
        string.Concat(body.Select(c => c is >= ' ' and <= '~' ? c.ToString() : $"\\u{(int)c:x4}"));
}
