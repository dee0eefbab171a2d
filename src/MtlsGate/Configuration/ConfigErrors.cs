using System.Globalization;

namespace MtlsGate.Configuration;

/// <summary>
/// The one errors helper every section compiler shares: each error names its configuration key, and
/// the parsing rules are strict in one place. Enums are read by <em>name only</em> (case-insensitive):
/// <c>Enum.TryParse</c> would accept "1", " 1", "-1" or "Enforce, LogOnly" and turn
/// <c>"Require": "1"</c> into <c>None</c>; numbers and booleans refuse what the binder's
/// <c>TypeConverter</c> would bend (hex, "#10", thousands separators).
/// </summary>
public sealed class ConfigErrors
{
    private readonly List<string> _errors;

    public ConfigErrors()
        : this([])
    {
    }

    /// <summary>Collects into <paramref name="sink"/> (callers that keep a plain list, e.g. the CRL fetcher).</summary>
    public ConfigErrors(List<string> sink) => _errors = sink;

    public IReadOnlyList<string> All => _errors;

    public int Count => _errors.Count;

    /// <summary>Adds <c>KEY: message</c>.</summary>
    public void Add(string key, string message) => _errors.Add($"{key}: {message}");

    /// <summary>True when an error was reported for <paramref name="key"/> or a key below it.</summary>
    public bool Reported(string key) =>
        _errors.Exists(e => e.StartsWith(key + ":", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Reads an enum by name: null means <paramref name="fallback"/>; anything that is not exactly one
    /// of the names (ignoring case) is reported with the valid names and yields false.
    /// </summary>
    public bool Enum<T>(string? value, string key, T fallback, out T result, params T[] excluded)
        where T : struct, Enum
    {
        result = fallback;
        if (value is null)
        {
            return true;
        }

        var names = global::System.Enum.GetNames<T>().Where(n => !excluded.Any(x => x.ToString() == n)).ToList();
        var name = names.Find(n => n.Equals(value, StringComparison.OrdinalIgnoreCase));
        if (name is null)
        {
            Add(key, $"'{value}' is not one of {string.Join(", ", names)} (names only; numbers are refused).");
            return false;
        }

        result = global::System.Enum.Parse<T>(name);
        return true;
    }

    /// <summary>Like <see cref="Enum{T}"/> for a fixed list of names that are no C# identifiers (header names); returns the canonical spelling.</summary>
    public string? OneOf(string value, string key, IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(names);
        var name = names.FirstOrDefault(n => n.Equals(value, StringComparison.OrdinalIgnoreCase));
        if (name is null)
        {
            Add(key, $"'{value}' is not one of {string.Join(", ", names)}.");
        }

        return name;
    }

    /// <summary>True when the file exists; otherwise reports it under its configuration key.</summary>
    public bool FileExists(string path, string key)
    {
        if (File.Exists(path))
        {
            return true;
        }

        Add(key, $"file '{path}' does not exist.");
        return false;
    }

    /// <summary>Reports <paramref name="key"/> unless <paramref name="value"/> is positive.</summary>
    public void Positive(long value, string key)
    {
        if (value <= 0)
        {
            Add(key, $"must be positive (got {value.ToString(CultureInfo.InvariantCulture)}).");
        }
    }

    /// <summary>Reports <paramref name="key"/> unless <paramref name="value"/> is positive.</summary>
    public void Positive(TimeSpan value, string key)
    {
        if (value <= TimeSpan.Zero)
        {
            Add(key, $"must be positive (got {value.ToString("c", CultureInfo.InvariantCulture)}).");
        }
    }

    /// <summary>
    /// Strict scalar reading for the binder's value types: <c>true</c>/<c>false</c> only; integers in
    /// plain decimal (optional leading minus, nothing else); durations as <c>[d.]hh:mm:ss[.fffffff]</c>
    /// (a bare "2" would be two <em>days</em>). Returns a description of what was expected, or null when
    /// the text is acceptable for <paramref name="type"/>.
    /// </summary>
    public static string? ScalarProblem(Type type, string value)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(value);
        var nullable = Nullable.GetUnderlyingType(type);
        if (nullable is not null && value.Length == 0)
        {
            return null; // the binder reads "" (and JSON null) as null for a nullable: not set
        }

        type = nullable ?? type;
        if (type == typeof(string))
        {
            return null;
        }

        if (type == typeof(bool))
        {
            return value.Equals("true", StringComparison.OrdinalIgnoreCase) || value.Equals("false", StringComparison.OrdinalIgnoreCase)
                ? null : "true or false";
        }

        if (type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(uint) || type == typeof(ulong))
        {
            return IsPlainInteger(value) && TryConvert(type, value) ? null : $"a whole number (plain decimal digits{(type == typeof(int) ? ", at most 2147483647" : "")})";
        }

        if (type == typeof(double) || type == typeof(decimal) || type == typeof(float))
        {
            return decimal.TryParse(value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _)
                ? null : "a decimal number";
        }

        if (type == typeof(TimeSpan))
        {
            return TimeSpan.TryParseExact(value, "c", CultureInfo.InvariantCulture, out _) && value.Contains(':', StringComparison.Ordinal)
                ? null : "a duration [d.]hh:mm:ss[.fffffff], e.g. 00:00:30";
        }

        if (type.IsEnum)
        {
            return System.Enum.GetNames(type).Any(n => n.Equals(value, StringComparison.OrdinalIgnoreCase))
                ? null : $"one of {string.Join(", ", System.Enum.GetNames(type))} (names only; numbers are refused)";
        }

        return TryConvert(type, value) ? null : $"a value of type {type.Name}";
    }

    private static bool IsPlainInteger(string value)
    {
        var digits = value.StartsWith('-') ? value.AsSpan(1) : value.AsSpan();
        return digits.Length is > 0 and <= 19 && !digits.ContainsAnyExceptInRange('0', '9');
    }

    private static bool TryConvert(Type type, string value)
    {
        try
        {
            return System.ComponentModel.TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value) is not null;
        }
        catch (Exception ex) when (ex is FormatException or NotSupportedException or ArgumentException or OverflowException || ex.InnerException is FormatException or OverflowException)
        {
            return false;
        }
    }
}
