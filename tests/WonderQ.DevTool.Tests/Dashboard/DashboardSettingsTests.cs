using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;

namespace WonderQ.DevTool.Tests.Dashboard;

/// <summary>The page's timings and preview length come from the DevTool's settings, not from constants in its script.</summary>
public sealed class DashboardSettingsTests
{
    [Fact]
    public async Task The_defaults_are_a_refresh_every_second_and_a_request_timeout_past_the_devtools_own()
    {
        // The test DevTool waits up to 5 s for the broker (Broker:TotalTimeout); the page must wait longer than that.
        await using var devTool = new DevToolApplication(brokerHandler: null);

        var settings = await SettingsOf(devTool);

        settings.GetProperty("refresh_interval_ms").GetInt32().Should().Be(1000);
        settings.GetProperty("request_timeout_ms").GetInt32().Should().Be(7000);
        settings.GetProperty("stale_after_ms").GetInt32().Should().Be(3000);
        settings.GetProperty("preview_characters").GetInt32().Should().Be(2000);
        settings.GetProperty("max_queue_rows").GetInt32().Should().Be(1000);
        settings.GetProperty("max_queue_name_length").GetInt32().Should().Be(80);
        settings.GetProperty("default_peek_size").GetInt32().Should().Be(10);
        settings.GetProperty("max_peek_size").GetInt32().Should().Be(100);
    }

    [Fact]
    public async Task Configured_values_reach_the_page()
    {
        await using var devTool = new DevToolApplication(brokerHandler: null, configure: builder => builder
            .UseSetting("Dashboard:RefreshInterval", "00:00:00.250")
            .UseSetting("Dashboard:StaleAfter", "00:00:10")
            .UseSetting("Dashboard:PreviewCharacters", "500")
            .UseSetting("Dashboard:MaxQueueRows", "40")
            .UseSetting("Broker:TotalTimeout", "00:00:30")
            .UseSetting("Limits:MaxQueueNameLength", "40")
            .UseSetting("Limits:DefaultPeekSize", "30")
            .UseSetting("Limits:MaxBatchSize", "60"));

        var settings = await SettingsOf(devTool);

        settings.GetProperty("refresh_interval_ms").GetInt32().Should().Be(250);
        settings.GetProperty("request_timeout_ms").GetInt32().Should().Be(32_000);
        settings.GetProperty("stale_after_ms").GetInt32().Should().Be(10_000);
        settings.GetProperty("preview_characters").GetInt32().Should().Be(500);
        settings.GetProperty("max_queue_rows").GetInt32().Should().Be(40);
        settings.GetProperty("max_queue_name_length").GetInt32().Should().Be(40);
        settings.GetProperty("default_peek_size").GetInt32().Should().Be(30);
        settings.GetProperty("max_peek_size").GetInt32().Should().Be(60);
    }

    private static async Task<JsonElement> SettingsOf(DevToolApplication devTool)
    {
        using var response = await devTool.CreateClient().GetAsync("/dashboard/settings");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType?.MediaType.Should().Be("application/json");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}
