using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using WonderQ.Reliability.Tests.Support;
using Xunit.Abstractions;

namespace WonderQ.Reliability.Tests.HostileInput;

/// <summary>
/// Thousands of generated requests (fixed seed, so a failure reproduces): random methods and paths from the API,
/// random query parameters, random and mutated JSON bodies. None may get a 5xx; every 4xx is problem+json.
/// </summary>
public sealed class RandomRequestTests(BrokerFactory factory, ITestOutputHelper output) : IClassFixture<BrokerFactory>
{
    private const int Seed = 20261129;
    private const int RequestCount = 3_000;
    private const int Parallelism = 4;

    private static readonly string[] _methods = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"];
    private static readonly string[] _parameterNames =
        ["queue_id", "queue_name", "size", "visibility_timeout", "id", "name", "reservation_token", "body", "x", ""];

    // wait_time only ever gets values that do not wait, so no generated consume parks for seconds.
    private static readonly string[] _waitTimes = ["0", "-1", "21", "abc", "99999999999999999999", "0.5", "+0", "0x0"];
    private static readonly string[] _contentTypes =
    [
        "application/json", "application/json; charset=utf-8", "application/problem+json", "text/plain",
        "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=bogus", "",
    ];

    private static readonly string[] _accepts = ["", "application/json", "*/*", "text/plain", "application/xml"];

    [Fact]
    public async Task Thousands_of_random_requests_get_no_5xx_and_every_4xx_is_problem_json()
    {
        // Arrange
        using var client = factory.CreateClient();
        var queue = await client.CreateQueueAsync(Json.UniqueQueueName("fuzz"));
        var id = await client.SendAsync(queue.Name, "seed message");
        var generator = new RequestGenerator(new Random(Seed), queue.Name, queue.Id, id);
        var requests = Enumerable.Range(0, RequestCount).Select(i => generator.Next(i)).ToList();
        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<int, int>();

        // Act
        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (spec, cancellationToken) =>
        {
            using var request = spec.ToRequest();
            using var response = await client.SendAsync(request, cancellationToken);
            statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
            if (Check(spec.Method, response, await response.Content.ReadAsStringAsync(cancellationToken)) is { } failure)
            {
                failures.Enqueue($"#{spec.Index} {spec}: {failure}");
            }
        });

        // Assert
        output.WriteLine($"seed {Seed}, {requests.Count} requests; statuses: " +
            string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}")));
        failures.Should().BeEmpty();
        await client.ShouldStillServeAsync();
    }

    private static string? Check(string method, HttpResponseMessage response, string body)
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

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "…";

    private sealed record RequestSpec(int Index, string Method, string Url, byte[]? Body, string ContentType, string Accept)
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

    /// <summary>Draws requests from a seeded <see cref="Random"/>: mostly near-valid, so they get past routing and binding.</summary>
    private sealed class RequestGenerator(Random random, string queueName, long queueId, long messageId)
    {
        private readonly string[] _values =
        [
            "0", "1", "-1", "20", "21", "100", "101", "43200", "43201", "99999999999999999999", "-99999999999999999999",
            "abc", "", "1.5", "1e3", " 1", "+1", "%00", "%FF", "%C3%28", "'%3B%20DROP%20TABLE%20messages%3B%20--",
            "..%2F..%2Fetc", queueName, queueId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            messageId.ToString(System.Globalization.CultureInfo.InvariantCulture), new string('v', 3_000), "%E2%80%AE",
        ];

        private readonly string[] _segments =
        [
            queueName, queueId.ToString(System.Globalization.CultureInfo.InvariantCulture), "0", "-1",
            "99999999999999999999", "no-such-queue", "..%2F..%2Fetc", "%2e%2e", "'%3B%20DROP%20TABLE%20messages%3B%20--",
            new string('s', 2_000), "%F0%9F%90%87", "a%20b", messageId.ToString(System.Globalization.CultureInfo.InvariantCulture), "abc", "1.5",
        ];

        public RequestSpec Next(int index)
        {
            var (method, path) = Route();
            if (random.Next(6) == 0)
            {
                method = _methods[random.Next(_methods.Length)];
            }

            var query = new List<string>();
            for (var i = random.Next(5); i > 0; i--)
            {
                query.Add($"{Pick(_parameterNames)}={Pick(_values)}");
            }

            if (path.StartsWith("/messages/consume", StringComparison.Ordinal))
            {
                query.Add($"wait_time={Pick(_waitTimes)}");
            }

            var url = query.Count == 0 ? path : $"{path}?{string.Join('&', query)}";
            var body = method is "POST" or "PUT" or "PATCH" || random.Next(8) == 0 ? Body() : null;
            var contentType = random.Next(3) == 0 ? Pick(_contentTypes) : "application/json";
            var accept = random.Next(4) == 0 ? Pick(_accepts) : "";
            return new RequestSpec(index, method, url, body, contentType, accept);
        }

        private (string Method, string Path) Route() => random.Next(10) switch
        {
            0 => ("POST", "/queues"),
            1 => ("GET", "/queues/find"),
            2 => ("GET", "/queues"),
            3 => ("GET", $"/queues/{Pick(_segments)}/messages"),
            4 => (random.Next(4) == 0 ? "DELETE" : "GET", $"/queues/{Pick(_segments)}"),
            5 or 6 => ("POST", "/messages"),
            7 => ("GET", "/messages/consume"),
            8 => ("DELETE", $"/messages/{Pick(_segments)}"),
            _ => ("GET", Pick(["/healthz", "/", "/openapi/v1.json", "/queues/find/x", "/messages/consume/1", "/%2e%2e/%2e%2e/etc/passwd"])),
        };

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
            foreach (var name in new[] { "name", "queue_id", "queue_name", "body" })
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
            2 => Pick(["0", "-1", "1.5", "1e3", "99999999999999999999", "9223372036854775807"]),
            3 => JsonSerializer.Serialize(Pick(["", "'; DROP TABLE messages; --", "\u0000\u0001", new string('n', 90), "12345", "ñ"])),
            4 => queueId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => name == "queue_id" ? "1" : JsonSerializer.Serialize(name == "body" ? $"fuzz {random.Next()}" : $"fz-{random.Next(1_000)}"),
        };

        private string RandomJson(int depth) => (depth > 4 ? random.Next(4) : random.Next(7)) switch
        {
            0 => "null",
            1 => random.Next(2) == 0 ? "true" : "false",
            2 => (random.NextDouble() * 1e6 * (random.Next(2) == 0 ? -1 : 1)).ToString(System.Globalization.CultureInfo.InvariantCulture),
            3 => JsonSerializer.Serialize(new string((char)random.Next(0x20, 0x7F), random.Next(20))),
            4 or 5 => "{" + string.Join(',', Enumerable.Range(0, random.Next(4)).Select(_ =>
                $"\"{Pick(_parameterNames)}\":{RandomJson(depth + 1)}")) + "}",
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
}
