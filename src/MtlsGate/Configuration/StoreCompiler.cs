using Npgsql;

namespace MtlsGate.Configuration;

/// <summary>Which database holds the device inventory.</summary>
public enum StoreKind
{
    Sqlite,
    PostgreSql,
}

/// <summary>
/// <c>MtlsGate:Store</c>, compiled. <see cref="ConnectionString"/> may hold a password: log and show
/// <see cref="Display"/> (the file, or host/port/database), never the connection string.
/// </summary>
/// <param name="Kind">SQLite (default) or PostgreSQL.</param>
/// <param name="ConnectionString">For SQLite the database file's path; for PostgreSQL the configured connection string.</param>
/// <param name="Display">What logs, <c>/readyz</c> and the CLI may show.</param>
/// <param name="PollInterval">How often the block list is read (the documented block delay).</param>
/// <param name="FlushInterval">How often observations are written.</param>
/// <param name="MaxPendingDevices">Bound of the in-memory queue of observed devices.</param>
public sealed record StoreSettings(StoreKind Kind, string ConnectionString, string Display, TimeSpan PollInterval, TimeSpan FlushInterval, int MaxPendingDevices)
{
    /// <summary>"sqlite" or "postgresql", as <c>IDeviceStore.Kind</c> says.</summary>
    public string KindName => Kind == StoreKind.Sqlite ? "sqlite" : "postgresql";
}

/// <summary>
/// Compiles <c>MtlsGate:Store</c>: no connection string is SQLite at <c>devices.db</c> in the state
/// directory; otherwise Npgsql must parse it and it must name a host. Errors name the key, never the
/// value (it may carry a password).
/// </summary>
public static class StoreCompiler
{
    public const string Key = "MtlsGate:Store";

    /// <summary>The SQLite file's name in the state directory.</summary>
    public const string SqliteFile = "devices.db";

    public static StoreSettings Compile(StoreSection section, string stateDirectory, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(errors);
        errors.Positive(section.PollInterval, $"{Key}:PollInterval");
        errors.Positive(section.FlushInterval, $"{Key}:FlushInterval");
        errors.Positive(section.MaxPendingDevices, $"{Key}:MaxPendingDevices");
        if (string.IsNullOrWhiteSpace(section.ConnectionString))
        {
            var file = Path.Combine(stateDirectory, SqliteFile);
            return new StoreSettings(StoreKind.Sqlite, file, file, section.PollInterval, section.FlushInterval, section.MaxPendingDevices);
        }

        string display;
        try
        {
            // Npgsql's own parser (the one NpgsqlDataSource uses): unknown keywords and bad values are refused here, at start-up.
            var builder = new NpgsqlConnectionStringBuilder(section.ConnectionString);
            if (string.IsNullOrWhiteSpace(builder.Host))
            {
                errors.Add($"{Key}:ConnectionString", "names no Host; give a PostgreSQL connection string such as \"Host=db;Database=mtlsgate;Username=mtlsgate;Password=…\", or remove it for SQLite in the state directory.");
                return Default(section, stateDirectory);
            }

            display = $"{builder.Host}:{builder.Port}/{builder.Database ?? builder.Username ?? "postgres"}";
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            // The parser's message can quote the value: say only that it is malformed.
            errors.Add($"{Key}:ConnectionString", "is not a valid PostgreSQL (Npgsql) connection string (keyword=value pairs separated by ';', e.g. \"Host=db;Database=mtlsgate;Username=mtlsgate\").");
            return Default(section, stateDirectory);
        }

        return new StoreSettings(StoreKind.PostgreSql, section.ConnectionString, display, section.PollInterval, section.FlushInterval, section.MaxPendingDevices);
    }

    private static StoreSettings Default(StoreSection section, string stateDirectory) =>
        new(StoreKind.Sqlite, Path.Combine(stateDirectory, SqliteFile), SqliteFile, section.PollInterval, section.FlushInterval, section.MaxPendingDevices);
}
