using System.Text.Json;
using System.Xml.Linq;

namespace Workshop.Testing;

/// <summary>
/// Writes a JSON answer as XML the way an OpenAPI document says the XML of the same schema looks, by
/// OpenAPI's xml keywords (name, attribute, wrapped): the element a reader of the document expects.
/// </summary>
public static class OpenApiXml
{
    public static XElement Describe(JsonElement document, JsonElement schema, JsonElement value)
    {
        var resolved = Resolve(document, schema);
        var root = XmlKeyword(resolved, "name") ?? throw new InvalidOperationException("The schema names no root element (xml.name).");
        return Element(document, resolved, value, root);
    }

    private static XElement Element(JsonElement document, JsonElement schema, JsonElement value, string name)
    {
        var element = new XElement(name);
        if (value.ValueKind is not JsonValueKind.Object)
        {
            element.Value = Text(value);
            return element;
        }

        foreach (var property in schema.GetProperty("properties").EnumerateObject())
        {
            // A property the answer leaves out, or gives as null, has no element.
            if (!value.TryGetProperty(property.Name, out var propertyValue) || propertyValue.ValueKind is JsonValueKind.Null)
            {
                continue;
            }

            var described = Resolve(document, property.Value);
            var propertyName = XmlKeyword(property.Value, "name") ?? XmlKeyword(described, "name") ?? property.Name;
            if (XmlKeyword(property.Value, "attribute") is "True")
            {
                element.Add(new XAttribute(propertyName, Text(propertyValue)));
            }
            else if (propertyValue.ValueKind is JsonValueKind.Array)
            {
                var items = Resolve(document, described.GetProperty("items"));
                var itemName = XmlKeyword(items, "name") ?? propertyName;
                var children = propertyValue.EnumerateArray().Select(item => Element(document, items, item, itemName));
                element.Add(XmlKeyword(property.Value, "wrapped") is "True" ? new XElement(propertyName, children) : children);
            }
            else
            {
                element.Add(Element(document, described, propertyValue, propertyName));
            }
        }

        return element;
    }

    private static JsonElement Resolve(JsonElement document, JsonElement schema) =>
        schema.TryGetProperty("$ref", out var reference)
            ? document.GetProperty("components").GetProperty("schemas").GetProperty(reference.GetString()!.Split('/')[^1])
            : schema;

    private static string? XmlKeyword(JsonElement schema, string keyword) =>
        schema.TryGetProperty("xml", out var xml) && xml.TryGetProperty(keyword, out var value) ? Text(value) : null;

    private static string Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.True => "True",
        JsonValueKind.False => "False",
        _ => value.GetRawText(),
    };
}
