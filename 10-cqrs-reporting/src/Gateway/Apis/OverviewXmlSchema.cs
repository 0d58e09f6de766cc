using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Gateway.Apis;

/// <summary>
/// Describes the overview's XML in the OpenAPI document. The JSON and the XML answer share one schema
/// there, which by itself reads as &lt;UserOverview&gt;&lt;user&gt;&lt;id&gt;...; OpenAPI's xml keywords
/// say what <see cref="UserOverview.ToXml"/> writes: &lt;overview&gt;, ids as attributes, and the
/// accounts wrapped in &lt;accounts&gt;, one &lt;account&gt; each.
/// </summary>
public sealed class OverviewXmlSchema : IOpenApiSchemaTransformer
{
    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var type = context.JsonTypeInfo.Type;
        if (type == typeof(UserOverview))
        {
            schema.Xml = new OpenApiXml { Name = "overview" };
            Property(schema, "accounts").Xml = new OpenApiXml { Wrapped = true };
        }
        else if (type == typeof(OverviewUser) || type == typeof(OverviewAccount))
        {
            schema.Xml = new OpenApiXml { Name = type == typeof(OverviewUser) ? "user" : "account" };
            Property(schema, "id").Xml = new OpenApiXml { Attribute = true };
        }

        return Task.CompletedTask;
    }

    private static OpenApiSchema Property(OpenApiSchema schema, string name) =>
        schema.Properties?.TryGetValue(name, out var property) == true && property is OpenApiSchema inline
            ? inline
            : throw new InvalidOperationException($"The schema of the overview has no property '{name}' to describe for XML.");
}
