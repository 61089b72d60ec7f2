using System.Text.Json;

namespace WonderQ.Broker.Tests.Web;

/// <summary>
/// The garbage collector's settings docs/configuration.md promises are the ones the broker's build writes into its
/// runtimeconfig.json, which the runtime reads at start: the idle waiters' memory and tail latency depend on all three.
/// </summary>
public sealed class RuntimeSettingsTests
{
    [Fact]
    public void The_broker_ships_with_workstation_GC_ConserveMemory_9_and_objects_up_to_1_MB_kept_off_the_large_object_heap()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "WonderQ.Broker.runtimeconfig.json");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var properties = document.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        properties.GetProperty("System.GC.Server").GetBoolean().Should().BeFalse();
        properties.GetProperty("System.GC.ConserveMemory").GetInt32().Should().Be(9);
        properties.GetProperty("System.GC.LOHThreshold").GetInt32().Should().Be(1024 * 1024);
    }
}
