using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using WonderQ.Broker.Health;
using WonderQ.Shared.Web;

namespace WonderQ.Broker.Auth;

public static class ApiKeyAuthentication
{
    /// <summary>
    /// When <c>Auth:ApiKeys</c> is set, requires <c>Authorization: Bearer &lt;key&gt;</c> on every endpoint except the
    /// health check, which load balancers must reach without a key.
    /// </summary>
    public static IApplicationBuilder UseApiKeys(this IApplicationBuilder app)
    {
        // Keys are compared as SHA-256 digests: equal lengths for a fixed-time comparison, whatever was sent.
        var digests = app.ApplicationServices.GetRequiredService<IOptions<ApiKeyOptions>>().Value.ApiKeys
            .Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k)))
            .ToArray();
        if (digests.Length == 0)
        {
            return app;
        }

        return app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments(HealthApi.Path) || IsAuthorized(context.Request, digests))
            {
                await next(context);
                return;
            }

            context.Response.Headers.WWWAuthenticate = "Bearer";
            await Problems.WriteAsync(
                context,
                StatusCodes.Status401Unauthorized,
                "Unauthorized.",
                // A client that sent a key must not be told to send one: what it has to check is the key itself.
                context.Request.Headers.Authorization.Count == 0
                    ? "This broker requires an API key: send 'Authorization: Bearer <key>' with a key from its Auth:ApiKeys."
                    : "The Authorization header sent is not 'Bearer <key>' with one of this broker's keys (Auth:ApiKeys): check the key.");
        });
    }

    /// <summary>
    /// With keys set, the OpenAPI document says what <see cref="UseApiKeys"/> asks of every endpoint but the health
    /// check: a client generated from it would otherwise send no key and meet nothing but 401s.
    /// </summary>
    public static OpenApiOptions AddApiKeySecurity(this OpenApiOptions options) => options.AddDocumentTransformer((document, context, _) =>
    {
        if (context.ApplicationServices.GetRequiredService<IOptions<ApiKeyOptions>>().Value.ApiKeys.Length == 0)
        {
            return Task.CompletedTask;
        }

        const string Scheme = "ApiKey";
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[Scheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "One of the broker's Auth:ApiKeys.",
        };
        var requirement = new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Scheme, document)] = [] };
        foreach (var (_, item) in document.Paths.Where(p => !p.Key.StartsWith(HealthApi.Path, StringComparison.OrdinalIgnoreCase)))
        {
            foreach (var operation in item.Operations?.Values.AsEnumerable() ?? [])
            {
                operation.Security = [requirement];
                operation.Responses ??= new OpenApiResponses();
                // A response without content says it has no body: a validating proxy or a generated client would
                // refuse the problem the refusal writes (UseApiKeys), as it would an answer of an undeclared status.
                operation.Responses["401"] = new OpenApiResponse
                {
                    Description = "No API key, or not one of the broker's.",
                    Content = new Dictionary<string, OpenApiMediaType>
                    {
                        ["application/problem+json"] = new() { Schema = new OpenApiSchemaReference(nameof(ProblemDetails), document) },
                    },
                };
            }
        }

        return Task.CompletedTask;
    });

    private static bool IsAuthorized(HttpRequest request, byte[][] digests)
    {
        var header = request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var sent = SHA256.HashData(Encoding.UTF8.GetBytes(header[Scheme.Length..].Trim()));
        var match = false;
        foreach (var digest in digests)
        {
            // No early exit: the time taken does not tell which key, or whether any, matched.
            match |= CryptographicOperations.FixedTimeEquals(sent, digest);
        }

        return match;
    }
}
