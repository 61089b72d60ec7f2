using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;

namespace WonderQ.Shared.Web;

/// <summary>
/// An app's dll started from another folder without <c>--contentRoot</c> (a service manager's unit, a script run from
/// elsewhere) finds no appsettings.json in its content root, the working directory, and would run on the framework's
/// bare defaults: port 5000, every <c>Host</c> answered, no cap on connections. It reads the file shipped beside its dll
/// instead. The content root stays where it was, so a relative database path still resolves from there.
/// </summary>
public static class ShippedSettings
{
    private const string FileName = "appsettings.json";

    /// <summary>
    /// Reads the appsettings.json beside <paramref name="program"/>'s dll where the content root's would have been read,
    /// so that the environment and the command line still override it.
    /// </summary>
    public static WebApplicationBuilder ReadSettingsShippedWith(this WebApplicationBuilder builder, Type program)
    {
        // Only when that dll is the process's own program: a test host's folder holds the three apps' files under one name.
        if (Assembly.GetEntryAssembly() != program.Assembly || StandsIn(builder.Environment) is not { } shipped)
        {
            return builder;
        }

        IConfigurationBuilder configuration = builder.Configuration;
        var contentRoots = configuration.Sources.ToList().FindIndex(source => source is JsonConfigurationSource { Path: FileName });
        configuration.Sources.Insert(contentRoots + 1, new JsonConfigurationSource
        {
            FileProvider = new PhysicalFileProvider(Path.GetDirectoryName(shipped)!),
            Path = FileName,
            Optional = false,
        });
        return builder;
    }

    /// <summary>The shipped file read in place of the content root's; null when the content root has one, or nothing is shipped.</summary>
    internal static string? StandsIn(IHostEnvironment environment)
    {
        var shipped = Path.Combine(AppContext.BaseDirectory, FileName);
        return environment.ContentRootFileProvider.GetFileInfo(FileName).Exists || !File.Exists(shipped) ? null : shipped;
    }
}
