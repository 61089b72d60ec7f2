using System.Net;
using FluentAssertions;
using WonderQ.Reliability.Tests.Support;

namespace WonderQ.Reliability.Tests.Auth;

/// <summary>Every key of <c>Auth:ApiKeys</c> is accepted, not only the last one compared.</summary>
public sealed class KeyRotationTests(TwoKeyBroker broker) : IClassFixture<TwoKeyBroker>
{
    [Theory]
    [InlineData(TwoKeyBroker.OldKey)]
    [InlineData(TwoKeyBroker.NewKey)]
    public async Task Each_of_the_keys_is_served(string key)
    {
        // Arrange
        using var client = broker.CreateClient();
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", $"Bearer {key}");

        // Act
        using var response = await client.GetAsync("/queues");

        // Assert
        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_key_that_is_neither_is_a_401()
    {
        // Arrange
        using var client = broker.CreateClient();
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer old-keynew-key");

        // Act
        using var response = await client.GetAsync("/queues");

        // Assert
        await response.ShouldBeClientProblemAsync(HttpStatusCode.Unauthorized);
    }
}
