using Microsoft.AspNetCore.StaticFiles;
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
        var types = new FileExtensionContentTypeProvider();
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            ContentTypeProvider = types,
            // Revalidate each time: after an upgrade the page and its script must not come from two versions.
            OnPrepareResponse = context => context.Context.Response.Headers.CacheControl = "no-cache",
        });

        // The file middleware serves GET and HEAD and passes any other method on, which no endpoint takes: a PUT of the
        // page would be a 404, as if there were no page, where it is the method that is wrong. Only where GET serves a
        // file, which takes a type known by its extension as well: the provider finds app.js at /app/js too.
        return app.Use((context, next) =>
        {
            var path = context.Request.Path == "/" ? "/index.html" : context.Request.Path.Value ?? "";
            if (context.GetEndpoint() is not null || HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)
                || !files.GetFileInfo(path).Exists || !types.TryGetContentType(path, out _))
            {
                return next(context);
            }

            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            context.Response.Headers.Allow = "GET, HEAD";
            return Task.CompletedTask;
        });
    }
}
