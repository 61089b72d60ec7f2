using System.Reflection;

namespace WonderQ.Testing;

/// <summary>Where the built apps are, found from the test assembly so the tests run from any working directory.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The configuration this test assembly was built in; the apps were built beside it.</summary>
    public static string Configuration { get; } =
        typeof(RepoPaths).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    public static string BrokerDirectory => AppDirectory("Broker");

    /// <summary>The build output of <paramref name="app"/> (Broker, DevTool or UserApp), each built with the tests.</summary>
    public static string AppDirectory(string app) => Path.Combine(Root, app, "bin", Configuration, "net10.0");

    public static string AppDll(string app) => Path.Combine(AppDirectory(app), $"WonderQ.{app}.dll");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "WonderQ.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No WonderQ.sln above {AppContext.BaseDirectory}.");
    }
}
