namespace WonderQ.Broker.Storage;

/// <summary>A store's schema scripts, embedded in the broker as <c>&lt;prefix&gt;NNNN_what.sql</c> (see the project file).</summary>
internal static class SchemaScripts
{
    /// <summary>Each script under <paramref name="prefix"/> with its version (its first four digits), oldest first.</summary>
    public static IReadOnlyList<(int Version, string Sql)> Load(string prefix)
    {
        var assembly = typeof(SchemaScripts).Assembly;
        return [.. assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
            .Select(n => (Version: int.Parse(n.AsSpan(prefix.Length, 4), provider: System.Globalization.CultureInfo.InvariantCulture), Name: n))
            .OrderBy(s => s.Version)
            .Select(s => (s.Version, Read(assembly, s.Name)))];
    }

    private static string Read(System.Reflection.Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
