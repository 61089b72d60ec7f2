using System.Text.Json;
using FluentAssertions;

namespace WonderQ.DevTool.Tests.Web;

/// <summary>
/// The DevTool's OpenAPI document, for a script that drives its JSON endpoints as the page does: it declares what the
/// README's DevTool API table says each operation answers, and the page itself, served as files, is no operation.
/// </summary>
public sealed class OpenApiTests : IDisposable
{
    private readonly DevToolApplication _devTool = new(brokerHandler: null);

    [Fact]
    public async Task Each_operation_declares_the_statuses_the_readme_s_table_gives_it()
    {
        using var client = _devTool.CreateClient();
        using var response = await client.GetAsync("/openapi/v1.json");
        response.EnsureSuccessStatusCode();
        var paths = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("paths");

        var rows = ReadmeApiTable.Read("### DevTool API").Where(row => row.Path != "/").ToList();

        rows.Should().HaveCount(paths.EnumerateObject().Sum(p => p.Value.EnumerateObject().Count()), "a row for each operation");
        foreach (var row in rows)
        {
            var declared = paths.GetProperty(row.Path).GetProperty(row.Method.ToLowerInvariant()).GetProperty("responses")
                .EnumerateObject().Select(r => r.Name);
            declared.Should().BeEquivalentTo(row.Statuses, $"{row.Method} {row.Path}");
        }
    }

    public void Dispose() => _devTool.Dispose();
}
