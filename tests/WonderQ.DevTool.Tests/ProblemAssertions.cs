using System.Net;
using System.Text.Json;
using FluentAssertions;

namespace WonderQ.DevTool.Tests;

internal static class ProblemAssertions
{
    /// <summary>Asserts a problem+json answer with the status and a detail containing <paramref name="detailPart"/>; returns its body.</summary>
    public static async Task<JsonElement> ShouldBeProblemAsync(HttpResponseMessage response, HttpStatusCode status, string detailPart)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(status, text);
        response.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
        var problem = JsonDocument.Parse(text).RootElement.Clone();
        problem.GetProperty("status").GetInt32().Should().Be((int)status);
        problem.GetProperty("detail").GetString().Should().Contain(detailPart);
        text.Should().NotContain("Exception").And.NotContain("   at ");
        return problem;
    }
}
