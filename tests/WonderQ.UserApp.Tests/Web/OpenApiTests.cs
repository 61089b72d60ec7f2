using System.Text.Json;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Web;

/// <summary>The UserApp's OpenAPI document as a client generator reads it.</summary>
public sealed class OpenApiTests(UserAppOnASocket apps) : IClassFixture<UserAppOnASocket>, IDisposable
{
    private readonly HttpClient _userApp = apps.CreateClient();

    [Fact]
    public async Task A_dispatch_requires_no_field_of_its_own_since_a_queue_is_named_either_way_and_stub_defaults_to_one()
    {
        var schemas = (await DocumentAsync()).GetProperty("components").GetProperty("schemas");

        schemas.GetProperty("DispatchRequest").TryGetProperty("required", out var required).Should().BeFalse(required.ToString());
    }

    [Fact]
    public async Task A_dispatch_s_numbers_carry_the_ranges_its_validation_holds_them_to()
    {
        var dispatch = (await DocumentAsync()).GetProperty("components").GetProperty("schemas").GetProperty("DispatchRequest").GetProperty("properties");

        var stub = dispatch.GetProperty("stub");
        (stub.GetProperty("minimum").GetInt32(), stub.GetProperty("maximum").GetInt32()).Should().Be((1, 10_000), "UserApp:MaxStub");
        dispatch.GetProperty("queue_id").GetProperty("minimum").GetInt64().Should().Be(1);
    }

    [Fact]
    public async Task The_listen_parameters_are_typed_as_the_whole_numbers_they_are()
    {
        var listen = (await DocumentAsync()).GetProperty("paths").GetProperty("/listen").GetProperty("get");

        var types = listen.GetProperty("parameters").EnumerateArray()
            .ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("schema").GetProperty("type").GetString());
        types.Should().Equal(new Dictionary<string, string?>
        {
            ["queue_id"] = "integer",
            ["queue_name"] = "string",
            ["size"] = "integer",
            ["wait_time"] = "integer",
            ["visibility_timeout"] = "integer",
        });
    }

    [Theory]
    [InlineData("/dispatch", "post", new[] { "200", "400", "404", "408", "409", "413", "415", "422", "429", "502", "503" })]
    [InlineData("/listen", "get", new[] { "200", "202", "400", "403", "404", "429", "502", "503" })]
    [InlineData("/listen", "delete", new[] { "200", "400", "404" })]
    public async Task Each_operation_lists_the_answers_the_readme_gives_it(string path, string method, string[] statuses)
    {
        var operation = (await DocumentAsync()).GetProperty("paths").GetProperty(path).GetProperty(method);

        operation.GetProperty("responses").EnumerateObject().Select(r => r.Name).Should().BeEquivalentTo(statuses);
    }

    public void Dispose() => _userApp.Dispose();

    private async Task<JsonElement> DocumentAsync()
    {
        using var response = await _userApp.GetAsync("/openapi/v1.json");
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }
}
