using System.Buffers;
using System.Collections;
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Fastsock.AspNetCore.Internal;

/// <summary>
/// The connection's features, implemented by the context itself (no dictionary for the ones every connection has).
/// Features others add (Kestrel adds a few per connection) go to a short list.
/// </summary>
internal sealed partial class FastsockConnectionContext :
    IFeatureCollection,
    IConnectionIdFeature,
    IConnectionTransportFeature,
    IConnectionItemsFeature,
    IMemoryPoolFeature,
    IConnectionLifetimeFeature,
    IConnectionEndPointFeature,
    IFastsockConnectionFeature
{
    private List<KeyValuePair<Type, object>>? _extraFeatures;
    private int _revision;

    bool IFeatureCollection.IsReadOnly => false;

    int IFeatureCollection.Revision => _revision;

    int IFastsockConnectionFeature.WorkerIndex => _worker.Index;

    int IFastsockConnectionFeature.Cpu => _worker.Cpu;

    int IFastsockConnectionFeature.IncomingCpu => _connection.IncomingCpu;

    MemoryPool<byte> IMemoryPoolFeature.MemoryPool => MemoryPool;

    object? IFeatureCollection.this[Type key]
    {
        get => GetFeature(key);
        set => SetFeature(key, value);
    }

    TFeature? IFeatureCollection.Get<TFeature>()
        where TFeature : default => (TFeature?)GetFeature(typeof(TFeature));

    void IFeatureCollection.Set<TFeature>(TFeature? instance)
        where TFeature : default => SetFeature(typeof(TFeature), instance);

    IEnumerator<KeyValuePair<Type, object>> IEnumerable<KeyValuePair<Type, object>>.GetEnumerator()
    {
        foreach (var type in s_ownFeatures)
        {
            if (GetFeature(type) is { } feature)
            {
                yield return new(type, feature);
            }
        }

        if (_extraFeatures is { } extras)
        {
            foreach (var pair in extras)
            {
                if (Array.IndexOf(s_ownFeatures, pair.Key) < 0)
                {
                    yield return pair;
                }
            }
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => ((IEnumerable<KeyValuePair<Type, object>>)this).GetEnumerator();

    private static readonly Type[] s_ownFeatures =
    [
        typeof(IConnectionIdFeature), typeof(IConnectionTransportFeature), typeof(IConnectionItemsFeature), typeof(IMemoryPoolFeature),
        typeof(IConnectionLifetimeFeature), typeof(IConnectionEndPointFeature), typeof(IFastsockConnectionFeature),
    ];

    private object? GetFeature(Type key)
    {
        if (_extraFeatures is { } extras)
        {
            foreach (var pair in extras)
            {
                if (pair.Key == key)
                {
                    return pair.Value;
                }
            }
        }

        if (key == typeof(IConnectionIdFeature) || key == typeof(IConnectionTransportFeature) || key == typeof(IConnectionItemsFeature)
            || key == typeof(IMemoryPoolFeature) || key == typeof(IConnectionLifetimeFeature) || key == typeof(IConnectionEndPointFeature)
            || key == typeof(IFastsockConnectionFeature))
        {
            return this;
        }

        return null;
    }

    private void SetFeature(Type key, object? value)
    {
        _revision++;
        var extras = _extraFeatures ??= new List<KeyValuePair<Type, object>>(4);
        for (int i = 0; i < extras.Count; i++)
        {
            if (extras[i].Key == key)
            {
                if (value is null)
                {
                    extras.RemoveAt(i);
                }
                else
                {
                    extras[i] = new(key, value);
                }

                return;
            }
        }

        if (value is not null)
        {
            extras.Add(new(key, value));
        }
    }

    // IConnectionTransportFeature, IConnectionItemsFeature, IConnectionIdFeature, IConnectionLifetimeFeature and
    // IConnectionEndPointFeature share their members with ConnectionContext's overrides above.
    IDuplexPipe IConnectionTransportFeature.Transport
    {
        get => Transport;
        set => Transport = value;
    }

    IDictionary<object, object?> IConnectionItemsFeature.Items
    {
        get => Items;
        set => Items = value;
    }

    string IConnectionIdFeature.ConnectionId
    {
        get => ConnectionId;
        set => ConnectionId = value;
    }

    CancellationToken IConnectionLifetimeFeature.ConnectionClosed
    {
        get => ConnectionClosed;
        set => ConnectionClosed = value;
    }

    void IConnectionLifetimeFeature.Abort() => Abort();

    EndPoint? IConnectionEndPointFeature.LocalEndPoint
    {
        get => LocalEndPoint;
        set => LocalEndPoint = value;
    }

    EndPoint? IConnectionEndPointFeature.RemoteEndPoint
    {
        get => RemoteEndPoint;
        set => RemoteEndPoint = value;
    }
}
