using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace Gateway.Authentication;

/// <summary>
/// Tells the readers of the gateway's OpenAPI document how to send the key: the API-key scheme
/// (with the configured header name) among its components, and a requirement on every operation
/// that needs it, so that a client generator or an API explorer sends the header by itself.
/// </summary>
public sealed class ApiKeyOpenApi(IOptionsMonitor<ApiKeyOptions> options) : IOpenApiDocumentTransformer, IOpenApiOperationTransformer
{
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.AddComponent<IOpenApiSecurityScheme>(ApiKeyOptions.Scheme, new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = options.CurrentValue.HeaderName,
            Description = "One of the keys configured under ApiKey:Keys.",
        });
        return Task.CompletedTask;
    }

    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        if (metadata.OfType<IAuthorizeData>().Any() && !metadata.OfType<IAllowAnonymous>().Any())
        {
            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyOptions.Scheme, context.Document)] = [] });
        }

        return Task.CompletedTask;
    }
}
