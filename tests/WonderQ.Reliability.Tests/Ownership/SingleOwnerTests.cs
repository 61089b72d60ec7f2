using FluentAssertions;
using WonderQ.Reliability.Tests.Support;
using Xunit.Abstractions;

namespace WonderQ.Reliability.Tests.Ownership;

/// <summary>One broker process owns a SQLite file; a second one pointed at it must refuse to start.</summary>
public sealed class SingleOwnerTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Second_broker_on_the_same_file_exits_non_zero_naming_the_file_and_the_first_keeps_serving()
    {
        // Arrange
        using var database = new TempDatabase();
        using var first = AppProcess.StartBroker(database.Path, FreePort.Next());
        await first.WaitReadyAsync();
        using var client = first.CreateClient();

        // Act
        using var second = AppProcess.StartBroker(database.Path, FreePort.Next());
        var exited = await second.WaitForExitAsync(TimeSpan.FromSeconds(60));

        // Assert
        output.WriteLine($"second broker: exit {(exited ? second.ExitCode : "none")}\nstderr:\n{second.StandardError}\nstdout:\n{second.StandardOutput}");
        exited.Should().BeTrue("a broker that cannot own its file must not keep running");
        second.ExitCode.Should().NotBe(0);
        second.StandardError.Should().Contain(database.Path, "the operator needs to know which file is taken");
        second.StandardError.Should().NotContain("   at ", "a refusal to start is a message, not a stack trace");
        second.StandardError.Should().NotContain("Exception");

        first.HasExited.Should().BeFalse();
        await client.ShouldStillServeAsync();
    }

    [Fact]
    public async Task Second_broker_reaching_the_file_through_a_symbolic_link_is_refused_too()
    {
        // Arrange
        using var database = new TempDatabase();
        var link = database.Path + "-link.db";
        File.CreateSymbolicLink(link, database.Path);
        try
        {
            using var first = AppProcess.StartBroker(database.Path, FreePort.Next());
            await first.WaitReadyAsync();
            using var client = first.CreateClient();

            // Act
            using var second = AppProcess.StartBroker(link, FreePort.Next());
            var exited = await second.WaitForExitAsync(TimeSpan.FromSeconds(60));

            // Assert: two writers on one file would each trust their own cache of its queues
            output.WriteLine($"second broker: exit {(exited ? second.ExitCode : "none")}\nstderr:\n{second.StandardError}");
            exited.Should().BeTrue("the link leads to a file another broker owns");
            second.ExitCode.Should().NotBe(0);
            second.StandardError.Should().Contain(link);
            await client.ShouldStillServeAsync();
        }
        finally
        {
            File.Delete(link);
        }
    }

    [Fact]
    public async Task Broker_restarted_after_its_owner_was_killed_takes_the_file_over()
    {
        // Arrange
        using var database = new TempDatabase();
        var port = FreePort.Next();
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        using (var owner = AppProcess.StartBroker(database.Path, port))
        {
            await owner.WaitReadyAsync();

            // Act: the lock must not outlive its process, however it died.
            owner.Kill();
        }

        using var successor = AppProcess.StartBroker(database.Path, port);
        await successor.WaitReadyAsync();

        // Assert
        await client.ShouldStillServeAsync();
    }
}
