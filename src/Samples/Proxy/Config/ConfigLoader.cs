using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace Fastsock.Samples.Proxy.Config;

/// <summary>Reads a JSON config file (Microsoft.Extensions.Configuration) and checks it. Every failure is a <see cref="ConfigException"/>.</summary>
internal static class ConfigLoader
{
    public static ProxySettings Load(string path) => ConfigValidator.Validate(LoadRaw(path), path);

    /// <summary>The file as written, before checks (so command-line options can override it first).</summary>
    public static ProxyConfig LoadRaw(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new ConfigException(path, "", "file not found; pass an existing JSON file with --config, or none for the demo");
        }

        IConfigurationRoot root;
        try
        {
            root = new ConfigurationBuilder().AddJsonFile(full, optional: false, reloadOnChange: false).Build();
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or JsonException)
        {
            throw new ConfigException(path, "", $"not valid JSON: {Innermost(ex).Message}");
        }

        ProxyConfig config;
        try
        {
            config = root.Get<ProxyConfig>(binder => binder.ErrorOnUnknownConfiguration = true) ?? new ProxyConfig();
        }
        catch (InvalidOperationException ex)
        {
            // The binder nests its messages; the one that names the key says what it could not convert.
            var named = ex;
            for (Exception? inner = ex; inner is not null; inner = inner.InnerException)
            {
                if (inner is InvalidOperationException && inner.Message.Contains(" at '", StringComparison.Ordinal))
                {
                    named = (InvalidOperationException)inner;
                    break;
                }
            }

            throw new ConfigException(path, KeyOf(named.Message), named.Message);
        }

        return config;
    }

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }

        return ex;
    }

    /// <summary>The binder names the key as <c>at 'Frontends:0:MaxConn'</c>; show it as <c>frontends[0].maxConn</c>.</summary>
    private static string KeyOf(string message)
    {
        int start = message.IndexOf(" at '", StringComparison.Ordinal);
        int end = start < 0 ? -1 : message.IndexOf('\'', start + 5);
        if (end < 0)
        {
            return "";
        }

        var key = new System.Text.StringBuilder();
        foreach (var part in message[(start + 5)..end].Split(':'))
        {
            if (int.TryParse(part, out _))
            {
                key.Append('[').Append(part).Append(']');
            }
            else
            {
                key.Append(key.Length > 0 ? "." : "").Append(char.ToLowerInvariant(part[0])).Append(part.AsSpan(1));
            }
        }

        return key.ToString();
    }
}
