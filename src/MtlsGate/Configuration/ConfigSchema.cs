using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace MtlsGate.Configuration;

/// <summary>A property read as one value or an array of values (e.g. <c>Listen:Gateway</c>).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ConfigOneOrManyAttribute : Attribute;

/// <summary>A dictionary whose keys are the names of an enum (e.g. <c>DenyByReason</c>), not free operator names.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ConfigKeysFromAttribute(Type enumType) : Attribute
{
    public Type EnumType { get; } = enumType;

    /// <summary>Names of the enum that are not valid keys.</summary>
    public string[] Except { get; init; } = [];
}

/// <summary>
/// The shape of the <c>MtlsGate</c> section, derived by reflection from <see cref="MtlsGateOptions"/>:
/// public readable properties are the known keys; a <c>Dictionary&lt;string, T&gt;</c> has operator-named
/// children of T's shape; a list or array has indexed children; a scalar is a leaf. <see cref="Check"/>
/// refuses unknown keys (with the nearest valid name), wrong shapes and malformed scalars, naming the
/// key, and returns the section without them for binding, so no refused value reaches the compile.
/// </summary>
public static class ConfigSchema
{
    /// <summary>A node of the schema.</summary>
    public abstract record Node;

    /// <summary>A single value of <paramref name="Type"/>.</summary>
    public sealed record Leaf(Type Type) : Node;

    /// <summary>One value or a list of them.</summary>
    public sealed record OneOrMany(Leaf Element) : Node;

    /// <summary>Known property names, case-insensitive as configuration keys are.</summary>
    public sealed record SectionNode(IReadOnlyDictionary<string, Node> Properties) : Node;

    /// <summary>Operator-named children, or children named by <paramref name="Keys"/> when given.</summary>
    public sealed record MapNode(Node Value, IReadOnlyList<string>? Keys) : Node;

    /// <summary>Children indexed 0, 1, …</summary>
    public sealed record ListNode(Node Element) : Node;

    private static readonly ConcurrentDictionary<Type, Node> Cache = new();

    /// <summary>The schema of the <c>MtlsGate</c> section.</summary>
    public static Node Root => For(typeof(MtlsGateOptions));

    /// <summary>The schema of an options type (cached; types are fixed at run time).</summary>
    public static Node For(Type type) => Cache.GetOrAdd(type, t => Build(t, depth: 0));

    private static Node Build(Type type, int depth)
    {
        if (depth > 16)
        {
            throw new InvalidOperationException($"Options type {type} nests too deeply (a cycle?).");
        }

        var scalar = Nullable.GetUnderlyingType(type) ?? type;
        if (scalar.IsPrimitive || scalar.IsEnum || scalar == typeof(string) || scalar == typeof(decimal) || scalar == typeof(TimeSpan)
            || scalar == typeof(DateTimeOffset) || scalar == typeof(DateTime) || scalar == typeof(Uri) || scalar == typeof(Guid))
        {
            return new Leaf(type);
        }

        if (DictionaryValueType(type) is { } valueType)
        {
            return new MapNode(Build(valueType, depth + 1), null);
        }

        if (ElementType(type) is { } elementType)
        {
            return new ListNode(Build(elementType, depth + 1));
        }

        var properties = new Dictionary<string, Node>(StringComparer.OrdinalIgnoreCase);
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetMethod is not { IsPublic: true } || property.GetIndexParameters().Length != 0)
            {
                continue;
            }

            var node = Build(property.PropertyType, depth + 1);
            // A get-only scalar is never bound; a get-only collection or section is filled in place.
            if (property.SetMethod is not { IsPublic: true } && node is Leaf)
            {
                continue;
            }

            var name = property.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name ?? property.Name;
            if (property.GetCustomAttribute<ConfigOneOrManyAttribute>() is not null && node is Leaf leaf)
            {
                node = new OneOrMany(leaf);
            }
            else if (property.GetCustomAttribute<ConfigKeysFromAttribute>() is { } keys && node is MapNode map)
            {
                node = map with { Keys = Enum.GetNames(keys.EnumType).Except(keys.Except, StringComparer.Ordinal).ToList() };
            }

            properties[name] = node;
        }

        return new SectionNode(properties);
    }

    private static Type? DictionaryValueType(Type type)
    {
        var dictionary = type.IsGenericType && IsDictionaryDefinition(type.GetGenericTypeDefinition())
            ? type
            : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && IsDictionaryDefinition(i.GetGenericTypeDefinition()));
        return dictionary?.GetGenericArguments() is [var key, var value] && key == typeof(string) ? value : null;

        static bool IsDictionaryDefinition(Type definition) =>
            definition == typeof(IDictionary<,>) || definition == typeof(IReadOnlyDictionary<,>) || definition == typeof(Dictionary<,>);
    }

    private static Type? ElementType(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }

        if (!typeof(IEnumerable).IsAssignableFrom(type) && !(type.IsInterface && type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IEnumerable<>)))
        {
            return null;
        }

        var enumerable = type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IEnumerable<>)
            ? type
            : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
        return enumerable?.GetGenericArguments()[0];
    }

    /// <summary>
    /// Checks <paramref name="section"/> (the <c>MtlsGate</c> section) against the schema, reporting
    /// every unknown key, wrong shape and malformed scalar, and returns the same section without the
    /// refused nodes (what the binder and the section compilers read). With <paramref name="root"/>, a
    /// one-or-many key given as a value by one source and as a list by another takes the form of the
    /// later source (layering, as for every other key); without it, that is an error.
    /// </summary>
    public static IConfigurationSection Check(IConfigurationSection section, ConfigErrors errors, IConfigurationRoot? root = null)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(errors);
        var kept = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        Walk(section, Root, errors, kept, root);
        return new ConfigurationBuilder().AddInMemoryCollection(kept).Build().GetSection(section.Path);
    }

    private static void Walk(IConfigurationSection node, Node schema, ConfigErrors errors, Dictionary<string, string?> kept, IConfigurationRoot? root)
    {
        var children = node.GetChildren().ToList();
        switch (schema)
        {
            case Leaf leaf:
                if (children.Count != 0)
                {
                    errors.Add(node.Path, $"expected a single value, found a section (keys: {string.Join(", ", children.Select(c => c.Key))}).");
                }
                else if (node.Value is { } value && ErrorsValue(leaf.Type, value) is { } expected)
                {
                    errors.Add(node.Path, $"'{value}' is not {expected}.");
                }
                else
                {
                    kept[node.Path] = node.Value;
                }

                return;

            case OneOrMany many:
                if (node.Value is { Length: > 0 } && children.Count != 0)
                {
                    switch (LaterFormIsList(root, node.Path))
                    {
                        case null:
                            errors.Add(node.Path, "given both as one value and as a list (by different configuration sources); use one form.");
                            return;
                        case true:
                            Walk(new ConfigurationBuilder().AddInMemoryCollection(children.SelectMany(c => c.AsEnumerable())).Build().GetSection(node.Path), new ListNode(many.Element), errors, kept, root);
                            return;
                        case false:
                            Walk(new ConfigurationBuilder().AddInMemoryCollection([new(node.Path, node.Value)]).Build().GetSection(node.Path), many.Element, errors, kept, root);
                            return;
                    }
                }

                if (children.Count == 0)
                {
                    Walk(node, many.Element, errors, kept, root);
                    return;
                }

                Walk(node, new ListNode(many.Element), errors, kept, root);
                return;
        }

        // A section, map or list: a value there is a wrong shape. The JSON provider gives an empty
        // {} (and null) as a null value and an empty [] as "": both are "present and empty".
        var shape = schema is ListNode ? "a list (array)" : "a section (object)";
        if (node.Value is { Length: > 0 } scalar)
        {
            errors.Add(node.Path, $"expected {shape}, found the value '{scalar}'.");
            return;
        }

        kept[node.Path] = null; // presence matters (e.g. "Identities": {} is an allow-list of nobody)
        foreach (var child in children)
        {
            switch (schema)
            {
                case SectionNode section when section.Properties.TryGetValue(child.Key, out var property):
                    Walk(child, property, errors, kept, root);
                    break;
                case SectionNode section:
                    errors.Add(child.Path, UnknownKey(child.Key, section.Properties.Keys));
                    break;
                case MapNode { Keys: { } keys } when !keys.Contains(child.Key, StringComparer.OrdinalIgnoreCase):
                    errors.Add(child.Path, UnknownKey(child.Key, keys));
                    break;
                case MapNode map:
                    Walk(child, map.Value, errors, kept, root);
                    break;
                case ListNode list when int.TryParse(child.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _):
                    Walk(child, list.Element, errors, kept, root);
                    break;
                case ListNode:
                    errors.Add(child.Path, $"'{child.Key}' is not a list index; {node.Key} is a list (array).");
                    break;
            }
        }
    }

    /// <summary>
    /// Whether the last source (in layering order) that gives <paramref name="path"/> gives it as a list
    /// (true) or as one value (false); null when that cannot be told.
    /// </summary>
    private static bool? LaterFormIsList(IConfigurationRoot? root, string path)
    {
        foreach (var provider in (root?.Providers ?? []).Reverse())
        {
            if (provider.TryGet(path, out var value) && !string.IsNullOrEmpty(value))
            {
                return false;
            }

            if (provider.GetChildKeys([], path).Any())
            {
                return true;
            }
        }

        return null;
    }

    private static string? ErrorsValue(Type type, string value) => ConfigErrors.ScalarProblem(type, value);

    /// <summary><c>unknown key; did you mean 'X'?</c>, or the valid keys when none is near.</summary>
    public static string UnknownKey(string key, IEnumerable<string> known)
    {
        ArgumentNullException.ThrowIfNull(key);
        var names = known.ToList();
        var nearest = names
            .Select(n => (Name: n, Distance: Distance(key.ToUpperInvariant(), n.ToUpperInvariant())))
            .OrderBy(p => p.Distance)
            .ThenBy(p => p.Name, StringComparer.Ordinal)
            .FirstOrDefault();
        return nearest.Name is not null && nearest.Distance <= Math.Max(2, key.Length / 3)
            ? $"unknown key; did you mean '{nearest.Name}'?"
            : $"unknown key; valid here: {(names.Count == 0 ? "none" : string.Join(", ", names.Order(StringComparer.Ordinal)))}.";
    }

    /// <summary>Levenshtein edit distance (insertions, deletions, substitutions; a swap of neighbours counts one).</summary>
    public static int Distance(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
