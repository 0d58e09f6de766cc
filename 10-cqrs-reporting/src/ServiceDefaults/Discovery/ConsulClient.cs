using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ServiceDefaults.Discovery;

/// <summary>
/// A small typed client for the Consul agent's HTTP API: the four calls this workshop needs. (No
/// Consul client library is used: the one on NuGet is not needed for four calls.) Consul's JSON is
/// PascalCase; writes answer 200 with an empty body; errors are plain text.
/// </summary>
public sealed class ConsulClient(HttpClient http)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = null,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Timeout of the calls that do not block: Consul answers them at once or not at all.</summary>
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);

    /// <summary>PUT /v1/agent/service/register: adds the instance, or replaces it when its ID is known.</summary>
    public Task RegisterAsync(ServiceRegistration registration, CancellationToken ct) =>
        SendAsync(HttpMethod.Put, "v1/agent/service/register", JsonContent.Create(registration, options: Json), ct);

    /// <summary>PUT /v1/agent/service/deregister/{id}: removes the instance and its checks.</summary>
    public Task DeregisterAsync(string serviceId, CancellationToken ct) =>
        SendAsync(HttpMethod.Put, $"v1/agent/service/deregister/{Uri.EscapeDataString(serviceId)}", null, ct);

    /// <summary>
    /// GET /v1/agent/services: whether the agent still knows this instance. False after Consul
    /// restarted (a dev agent keeps nothing) or removed it, so that it registers again.
    /// </summary>
    public async Task<bool> KnowsAsync(string serviceId, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(CallTimeout);
        try
        {
            using var response = await http.GetAsync("v1/agent/services", timeout.Token);
            await ThrowUnlessSuccessAsync(response, timeout.Token);
            var services = await response.Content.ReadFromJsonAsync<Dictionary<string, JsonElement>>(Json, timeout.Token)
                ?? throw new ConsulException("Consul answered null, not its services.");
            return services.ContainsKey(serviceId);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new ConsulException($"Consul did not answer GET v1/agent/services within {CallTimeout.TotalSeconds:0} s.");
        }
        catch (JsonException e)
        {
            throw new ConsulException($"Consul's answer is not the JSON of its services ({e.Message}).");
        }
    }

    /// <summary>
    /// GET /v1/health/service/{name}?passing: the instances whose checks all pass. With an
    /// <paramref name="index"/> above 0 it is a blocking query: Consul answers when the list changes
    /// past that index, or after <paramref name="wait"/> (plus up to a sixteenth, Consul's jitter).
    /// </summary>
    public async Task<HealthyInstances> GetPassingAsync(string service, ulong index, TimeSpan wait, CancellationToken ct)
    {
        var path = $"v1/health/service/{Uri.EscapeDataString(service)}?passing"
            + (index > 0 ? $"&index={index}&wait={(int)wait.TotalSeconds}s" : "");
        var limit = index > 0 ? wait + wait / 16 + CallTimeout : CallTimeout;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(limit);
        try
        {
            using var response = await http.GetAsync(path, timeout.Token);
            await ThrowUnlessSuccessAsync(response, timeout.Token);
            var entries = await response.Content.ReadFromJsonAsync<ServiceEntry[]>(Json, timeout.Token)
                ?? throw new ConsulException("Consul answered null, not a list of instances.");
            return new HealthyInstances(entries.Select(Instance).ToList(), ReadIndex(response));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new ConsulException($"Consul did not answer within {limit.TotalSeconds:0} s.");
        }
        catch (JsonException e)
        {
            throw new ConsulException($"Consul's answer is not the JSON of a list of instances ({e.Message}).");
        }
    }

    private async Task SendAsync(HttpMethod method, string path, HttpContent? content, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(CallTimeout);
        try
        {
            using var request = new HttpRequestMessage(method, path) { Content = content };
            using var response = await http.SendAsync(request, timeout.Token);
            await ThrowUnlessSuccessAsync(response, timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new ConsulException($"Consul did not answer {method} {path} within {CallTimeout.TotalSeconds:0} s.");
        }
    }

    private static async Task ThrowUnlessSuccessAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (!response.IsSuccessStatusCode)
        {
            var text = (await response.Content.ReadAsStringAsync(ct)).Trim();
            throw new ConsulException($"Consul answered {(int)response.StatusCode}: {(text.Length > 200 ? text[..200] : text)}", response.StatusCode);
        }
    }

    /// <summary>Consul's rule: the instance's own address, or its node's when it registered none.</summary>
    private static ServiceInstanceAddress Instance(ServiceEntry entry) =>
        new(entry.Service.ID, string.IsNullOrEmpty(entry.Service.Address) ? entry.Node.Address : entry.Service.Address, entry.Service.Port);

    private static ulong ReadIndex(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Consul-Index", out var values)
        && ulong.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            ? index
            : 0;
}

/// <summary>The body of PUT /v1/agent/service/register, with one check.</summary>
public sealed record ServiceRegistration(string ID, string Name, string Address, int Port, IReadOnlyDictionary<string, string> Meta, ServiceCheck Check);

/// <summary>
/// An HTTP check: every <c>Interval</c> Consul GETs <c>HTTP</c>, and the check passes on a 2xx answer
/// within <c>Timeout</c>, warns on a 429, and is critical otherwise (also before its first probe).
/// </summary>
public sealed record ServiceCheck(string CheckID, string Name, string HTTP, string Interval, string Timeout, string DeregisterCriticalServiceAfter);

/// <summary>One entry of GET /v1/health/service/{name}: the fields the client reads.</summary>
public sealed record ServiceEntry(ServiceEntryNode Node, ServiceEntryService Service);

public sealed record ServiceEntryNode(string Address);

public sealed record ServiceEntryService(string ID, string Address, int Port);

/// <summary>A healthy instance: its ID in Consul and where to call it.</summary>
public sealed record ServiceInstanceAddress(string Id, string Host, int Port);

/// <summary>The answer to a health query: the instances, and the index to block on next.</summary>
public sealed record HealthyInstances(IReadOnlyList<ServiceInstanceAddress> Instances, ulong Index);

/// <summary>Consul could not be asked, or answered with an error or something unreadable.</summary>
public sealed class ConsulException(string message, HttpStatusCode? statusCode = null) : Exception(message)
{
    public HttpStatusCode? StatusCode { get; } = statusCode;
}
