using WonderQ.LoadTest;

namespace WonderQ.Broker.Tests.LoadTool;

/// <summary>A run's verdict as its reader meets it: a FAIL says what failed it.</summary>
public sealed class RunResultTests
{
    [Fact]
    public void A_failed_run_names_what_failed_it_even_when_nothing_was_counted_lost()
    {
        var options = LoadOptions.Parse(["produce", "--url", "http://a"]);
        var result = new RunResult(options, TimeSpan.FromSeconds(1), 2, "sends", [new("send", 2, 2, 1, 1, 1, 1)])
        {
            Errors = new() { ["POST /messages 503"] = 3 },
            Lost = 1,
        };
        result.Verification["acknowledged"] = 2;
        result.Verification["distinct_ids"] = 1;
        result.Verification["lost"] = 0;

        var table = result.ToTable();

        table.Should().Contain("result FAIL (requests failed: 3; sends answered with an id already given to another: 1)");
        result.Failures.Should().HaveCount(2);
    }
}
