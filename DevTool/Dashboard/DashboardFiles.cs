using Microsoft.Extensions.FileProviders;

namespace WonderQ.DevTool.Dashboard;

public static class DashboardFiles
{
    /// <summary>
    /// Serves the dashboard (<c>wwwroot/</c>, embedded in the assembly) at <c>/</c>. Embedding means the page is there
    /// however the DevTool is started, with no build step and nothing fetched from the network.
    /// </summary>
    public static IApplicationBuilder UseDashboard(this IApplicationBuilder app)
    {
        var files = new EmbeddedFileProvider(typeof(DashboardFiles).Assembly, "WonderQ.DevTool.wwwroot");
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        return app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            // Revalidate each time: after an upgrade the page and its script must not come from two versions.
            OnPrepareResponse = context => context.Context.Response.Headers.CacheControl = "no-cache",
        });
    }
}
