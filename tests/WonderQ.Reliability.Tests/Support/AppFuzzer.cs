using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace WonderQ.Reliability.Tests.Support;

/// <summary>
/// Generated requests for an app in front of the broker, from a seeded <see cref="Random"/> so a failure reproduces:
/// the app's routes with random methods, query parameters and route segments, and random or mutated JSON bodies,
/// mostly near-valid so they get past routing and binding. Collects every answer that breaks the problem+json rules.
/// </summary>
public sealed class AppFuzzer(Random random, AppFuzzer.Shape shape)
{
    private static readonly string[] _methods = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"];
    private static readonly string[] _contentTypes =
    [
        "application/json", "application/json; charset=utf-8", "application/problem+json", "text/plain",
        "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=bogus", "",
    ];

    private static readonly string[] _accepts = ["", "application/json", "*/*", "text/html", "application/xml"];

    private readonly string[] _values =
    [
        "0", "1", "-1", "2", "20", "21", "100", "101", "10001", "43201", "99999999999999999999", "-99999999999999999999",
        "abc", "", "1.5", "1e3", "1e99", " 1", "+1", "%00", "%FF", "%C3%28", "'%3B%20DROP%20TABLE%20messages%3B%20--",
        "..%2F..%2Fetc", "no-such-queue", new string('v', 1_000), "%E2%80%AE", "9223372036854775807",
        .. shape.KnownValues,
    ];

    private readonly string[] _segments =
    [
        "0", "-1", "99999999999999999999", "9223372036854775807", "no-such-queue", "..%2F..%2Fetc", "%2e%2e",
        "'%3B%20DROP%20TABLE%20messages%3B%20--", new string('s', 1_000), "%F0%9F%90%87", "a%20b", "abc", "1.5", "%C3%28",
        .. shape.KnownValues,
    ];

    /// <summary>
    /// What is particular to one app: its routes (<c>{seg}</c> marks a route segment), parameters and fields;
    /// optionally a parameter a path must always carry (given the path, "name=value" or null); and optionally a body the
    /// route takes as it is (given the method and path, or null), sent now and then unmutated, so that the generated
    /// requests reach the writes behind validation too: near-valid bodies carry fields of other routes and get 400s.
    /// </summary>
    public sealed record Shape(
        (string Method, string Path)[] Routes,
        string[] ParameterNames,
        string[] FieldNames,
        Func<Random, string, string?> FieldValue,
        string[] KnownValues,
        Func<Random, string, string?>? ExtraQuery = null,
        Func<Random, string, string, string?>? ValidBody = null);

    public sealed record Spec(int Index, string Method, string Url, byte[]? Body, string ContentType, string Accept)
    {
        public HttpRequestMessage ToRequest()
        {
            var request = new HttpRequestMessage(new HttpMethod(Method), Url);
            if (Body is not null)
            {
                request.Content = new ByteArrayContent(Body);
                if (ContentType.Length > 0)
                {
                    request.Content.Headers.TryAddWithoutValidation("Content-Type", ContentType);
                }
            }

            if (Accept.Length > 0)
            {
                request.Headers.Accept.Add(MediaTypeWithQualityHeaderValue.Parse(Accept));
            }

            return request;
        }

        public override string ToString() =>
            $"{Method} {(Url.Length > 150 ? Url[..150] + "…" : Url)} [{ContentType}] [accept {Accept}] " +
            (Body is null ? "" : Shorten(Encoding.UTF8.GetString(Body)));
    }

    /// <summary>Sends <paramref name="count"/> generated requests, a few at a time; returns the failures and the statuses seen.</summary>
    public async Task<(IReadOnlyCollection<string> Failures, IReadOnlyDictionary<int, int> Statuses)> RunAsync(HttpClient client, int count, int parallelism)
    {
        var requests = Enumerable.Range(0, count).Select(Next).ToList();
        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (spec, cancellationToken) =>
        {
            using var request = spec.ToRequest();
            using var response = await client.SendAsync(request, cancellationToken);
            statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
            if (Check(spec.Method, response, await response.Content.ReadAsStringAsync(cancellationToken)) is { } failure)
            {
                failures.Enqueue($"#{spec.Index} {spec}: {failure}");
            }
        });

        return (failures, statuses);
    }

    /// <summary>How many answers each status had, as <c>200×495, 400×1232</c>.</summary>
    public static string Describe(IReadOnlyDictionary<int, int> statuses) =>
        string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}"));

    /// <summary>Null when the answer keeps the rules: below 500, and every 4xx a complete problem+json without internals.</summary>
    public static string? Check(string method, HttpResponseMessage response, string body)
    {
        var status = (int)response.StatusCode;
        if (status >= 500)
        {
            return $"{status} {Shorten(body)}";
        }

        // A HEAD answer has no body by definition (RFC 9110 §9.3.2); only its status can be checked.
        if (status < 400 || method == "HEAD")
        {
            return null;
        }

        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
        {
            return $"{status} as '{response.Content.Headers.ContentType}': {Shorten(body)}";
        }

        if (Problems.LeakMarkers.FirstOrDefault(body.Contains) is { } leak)
        {
            return $"{status} leaks '{leak}': {Shorten(body)}";
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            var complete = root.TryGetProperty("status", out var s) && s.GetInt32() == status
                && root.TryGetProperty("title", out var t) && !string.IsNullOrWhiteSpace(t.GetString())
                && root.TryGetProperty("detail", out var d) && !string.IsNullOrWhiteSpace(d.GetString());
            return complete ? null : $"{status} without status/title/detail: {Shorten(body)}";
        }
        catch (JsonException)
        {
            return $"{status} with a body that is not JSON: {Shorten(body)}";
        }
    }

    public Spec Next(int index)
    {
        var (method, path) = Pick(shape.Routes);
        path = path.Replace("{seg}", Pick(_segments), StringComparison.Ordinal);
        if (shape.ValidBody is { } valid && random.Next(4) == 0 && valid(random, method, path) is { } taken)
        {
            var only = shape.ExtraQuery?.Invoke(random, path);
            return new Spec(index, method, only is null ? path : $"{path}?{only}", Encoding.UTF8.GetBytes(taken), "application/json", "");
        }

        if (random.Next(6) == 0)
        {
            method = Pick(_methods);
        }

        var query = new List<string>();
        for (var i = random.Next(5); i > 0; i--)
        {
            query.Add($"{Pick(shape.ParameterNames)}={Pick(_values)}");
        }

        if (shape.ExtraQuery?.Invoke(random, path) is { } extra)
        {
            query.Add(extra);
        }

        var url = query.Count == 0 ? path : $"{path}?{string.Join('&', query)}";
        var body = method is "POST" or "PUT" or "PATCH" || random.Next(8) == 0 ? Body() : null;
        var contentType = random.Next(3) == 0 ? Pick(_contentTypes) : "application/json";
        var accept = random.Next(4) == 0 ? Pick(_accepts) : "";
        return new Spec(index, method, url, body, contentType, accept);
    }

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "…";

    private byte[] Body() => random.Next(6) switch
    {
        0 => RandomBytes(),
        1 => Encoding.UTF8.GetBytes(RandomJson(0)),
        2 => Mutate(Encoding.UTF8.GetBytes(RandomJson(0))),
        _ => Mutate(Encoding.UTF8.GetBytes(NearValid())),
    };

    private string NearValid()
    {
        var fields = new List<string>();
        foreach (var name in shape.FieldNames)
        {
            if (random.Next(3) != 0)
            {
                fields.Add($"\"{name}\":{Value(name)}");
            }
        }

        if (random.Next(6) == 0 && fields.Count > 0)
        {
            fields.Add(fields[random.Next(fields.Count)]);
        }

        return "{" + string.Join(',', fields) + "}";
    }

    private string Value(string name) => random.Next(8) switch
    {
        0 => "null",
        1 => random.Next(2) == 0 ? "true" : "[]",
        2 => Pick(["0", "-1", "1.5", "1e3", "1e99", "10001", "99999999999999999999", "9223372036854775807"]),
        3 => JsonSerializer.Serialize(Pick(["", "'; DROP TABLE messages; --", "\u0000\u0001", new string('n', 90), "12345", "ñ", "../../etc"])),
        _ => shape.FieldValue(random, name) ?? JsonSerializer.Serialize($"fz-{random.Next(1_000)}"),
    };

    private string RandomJson(int depth) => (depth > 4 ? random.Next(4) : random.Next(7)) switch
    {
        0 => "null",
        1 => random.Next(2) == 0 ? "true" : "false",
        2 => (random.NextDouble() * 1e6 * (random.Next(2) == 0 ? -1 : 1)).ToString(CultureInfo.InvariantCulture),
        3 => JsonSerializer.Serialize(new string((char)random.Next(0x20, 0x7F), random.Next(20))),
        4 or 5 => "{" + string.Join(',', Enumerable.Range(0, random.Next(4)).Select(_ =>
            $"\"{Pick(shape.FieldNames)}\":{RandomJson(depth + 1)}")) + "}",
        _ => "[" + string.Join(',', Enumerable.Range(0, random.Next(4)).Select(_ => RandomJson(depth + 1))) + "]",
    };

    private byte[] Mutate(byte[] bytes)
    {
        var list = bytes.ToList();
        for (var i = random.Next(4); i > 0 && list.Count > 0; i--)
        {
            var at = random.Next(list.Count);
            switch (random.Next(4))
            {
                case 0:
                    list.RemoveAt(at);
                    break;
                case 1:
                    list.Insert(at, (byte)random.Next(256));
                    break;
                case 2:
                    list[at] = Pick("{}[]\",:\\ \u0000"u8.ToArray());
                    break;
                default:
                    list.RemoveRange(at, list.Count - at);
                    break;
            }
        }

        return [.. list];
    }

    private byte[] RandomBytes()
    {
        var bytes = new byte[random.Next(64)];
        random.NextBytes(bytes);
        return bytes;
    }

    private T Pick<T>(T[] items) => items[random.Next(items.Length)];
}
