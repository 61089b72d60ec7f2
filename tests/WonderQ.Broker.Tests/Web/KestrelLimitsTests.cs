using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Web;

namespace WonderQ.Broker.Tests.Web;

/// <summary>
/// <c>Kestrel:Limits</c> reaches the server the broker builds, including the two minimum data rates, whose type has
/// no setters for a configuration binder to use.
/// </summary>
public sealed class KestrelLimitsTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task The_minimum_data_rates_in_the_settings_are_the_ones_Kestrel_enforces()
    {
        await using var app = Program.CreateApp([
            "--urls", "http://127.0.0.1:0", $"--Storage:Sqlite:Path={_database.Path}",
            "--Kestrel:Limits:MinRequestBodyDataRate:BytesPerSecond=1000",
            "--Kestrel:Limits:MinRequestBodyDataRate:GracePeriod=00:00:02",
            "--Kestrel:Limits:MinResponseDataRate=",
        ]);

        var limits = app.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits;

        limits.MinRequestBodyDataRate.Should().NotBeNull();
        limits.MinRequestBodyDataRate!.BytesPerSecond.Should().Be(1000);
        limits.MinRequestBodyDataRate.GracePeriod.Should().Be(TimeSpan.FromSeconds(2));
        limits.MinResponseDataRate.Should().BeNull("an empty value given over appsettings.json's turns the rate off");
    }

    [Theory]
    [InlineData("MinRequestBodyDataRate:BytesPerSecond")]
    [InlineData("MinResponseDataRate:GracePeriod")]
    public void An_empty_value_for_one_half_of_a_minimum_data_rate_stops_the_broker_rather_than_keeping_the_rate(string key)
    {
        // The binder would read it as no value at all, and the rate would stay on though the operator emptied it.
        var start = () => Program.CreateApp(
            ["--urls", "http://127.0.0.1:0", $"--Storage:Sqlite:Path={_database.Path}", $"--Kestrel:Limits:{key}="]);

        start.Should().Throw<StartRefusedException>().WithMessage(
            $"Kestrel:Limits:{key} is empty: give it a value, or give Kestrel:Limits:{key.Split(':')[0]} itself an empty value to turn the rate off.");
    }

    /// <summary>As every other limit's refusal does, each names the key to change, not the rate it belongs to.</summary>
    [Theory]
    [InlineData("MinRequestBodyDataRate:BytesPerSecond", "-1", "cannot be -1: ")]
    [InlineData("MinRequestBodyDataRate:BytesPerSecond", "fast", "cannot be fast: ")]
    [InlineData("MinResponseDataRate:GracePeriod", "00:00:00.500", "cannot be 00:00:00.500: ")]
    [InlineData("MinResponseDataRate:GracePeriod", "soon", "cannot be soon: ")]
    [InlineData("MinResponseDataRate:GracePerod", "00:00:05", "is not a setting of Kestrel:Limits:MinResponseDataRate: ")]
    public void A_minimum_data_rate_refused_is_refused_naming_the_key_that_is_wrong(string key, string value, string said)
    {
        var start = () => Program.CreateApp(
            ["--urls", "http://127.0.0.1:0", $"--Storage:Sqlite:Path={_database.Path}", $"--Kestrel:Limits:{key}={value}"]);

        start.Should().Throw<StartRefusedException>().Which.Message.Should().StartWith($"Kestrel:Limits:{key} {said}");
    }

    [Theory]
    [InlineData("MaxConcurrentConnections")]
    [InlineData("MaxRequestHeaderCount")]
    [InlineData("Http2:MaxStreamsPerConnection")]
    public void An_empty_limit_stops_the_broker_naming_it_rather_than_taking_the_cap_off_or_keeping_the_default(string key)
    {
        // Most likely a variable left unset: read as no value, MaxConcurrentConnections lost its cap, and with it the
        // warning that waiting consumers could take every connection; the others were refused as 'cannot be : ...'.
        var start = () => Program.CreateApp(
            ["--urls", "http://127.0.0.1:0", $"--Storage:Sqlite:Path={_database.Path}", $"--Kestrel:Limits:{key}="]);

        start.Should().Throw<StartRefusedException>().WithMessage(
            $"Kestrel:Limits:{key} is empty: give it a value (appsettings.json has each limit's default).");
    }
}
