using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace MtlsGate.Tls;

/// <summary>
/// The gateway's private state directory (CRL cache, CRL high-water marks): ours, 0700, never a
/// symlink, and written only by atomic replacement (a random name opened exclusively, then renamed
/// over the target), so a local user can neither read it, plant a file in it, nor redirect a write
/// through a symlink. Sits in Tls/ because the CRL code writes there; configuration checks it.
/// </summary>
public static class PrivateDirectory
{
    /// <summary>rwx for the owner only.</summary>
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>rw for the owner only, set at open (<c>open(2)</c>'s mode), so there is no window with a wider mode.</summary>
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode GroupOrOtherWrite = UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;
    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
                                              UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>
    /// Why <paramref name="path"/> is not acceptable as a private directory, or null when it is (or does
    /// not exist yet). Refused: a symlink (as the final component), not a directory, owned by another
    /// user, group- or world-writable.
    /// </summary>
    public static string? Problem(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
        {
            return null; // Windows: ACLs, not modes; the directory inherits its parent's (the user profile's).
        }

        if (LStat(path) is not { } status)
        {
            return null;
        }

        if (status.Type == FileType.Link)
        {
            return $"'{path}' is a symbolic link; give the real directory (a link could be repointed by whoever owns it).";
        }

        if (status.Type != FileType.Directory)
        {
            return $"'{path}' exists and is not a directory.";
        }

        if (status.Uid != EffectiveUserId)
        {
            return $"'{path}' is owned by uid {status.Uid}, not by the gateway's user (uid {EffectiveUserId}); another user could read or plant state there.";
        }

        if (((UnixFileMode)status.Mode & GroupOrOtherWrite) != 0)
        {
            return $"'{path}' is group- or world-writable (mode {Convert.ToString(status.Mode & 0x1FF, 8)}); it must be private (0700).";
        }

        return null;
    }

    /// <summary>
    /// Creates <paramref name="path"/> 0700 when missing (parents included), checks it, and narrows an
    /// existing one of ours to 0700 (group/other read bits removed). Returns why not, or null.
    /// </summary>
    public static string? Ensure(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Problem(path) is { } before)
        {
            return before;
        }

        try
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(path);
                return null;
            }

            // CreateDirectory does not follow a symlink planted at the final component: it fails (EEXIST) or we refuse below.
            Directory.CreateDirectory(path, DirectoryMode);
            if (Problem(path) is { } after)
            {
                return after;
            }

            if ((File.GetUnixFileMode(path) & GroupOrOther) != 0)
            {
                File.SetUnixFileMode(path, DirectoryMode);
            }

            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"cannot create '{path}': {ex.Message}";
        }
    }

    /// <summary>
    /// A new file under a random name in <paramref name="directory"/>, created exclusively (O_EXCL: an
    /// existing file or symlink at that name fails the open, nothing is followed) and 0600 from the start.
    /// The caller writes it, then <see cref="Commit"/>s it or deletes it.
    /// </summary>
    public static FileStream CreateTemporary(string directory, out string path)
    {
        ArgumentNullException.ThrowIfNull(directory);
        path = Path.Combine(directory, "." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)) + ".tmp");
        return CreateExclusive(path);
    }

    /// <summary>
    /// Opens a new file for writing, created 0600 by open(2) itself (O_EXCL: an existing file or symlink
    /// at <paramref name="path"/> fails the open with <see cref="IOException"/>, nothing is followed).
    /// </summary>
    public static FileStream CreateExclusive(string path)
    {
        var options = new FileStreamOptions
        {
            Mode = System.IO.FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
            Options = FileOptions.None,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = FileMode;
        }

        return new FileStream(path, options);
    }

    /// <summary>Renames a finished temporary file over <paramref name="target"/> (rename(2): atomic, replaces a symlink rather than following it).</summary>
    public static void Commit(string temporary, string target) => File.Move(temporary, target, overwrite: true);

    /// <summary>Writes <paramref name="content"/> to <paramref name="target"/> atomically: temporary file, flush, rename.</summary>
    public static void WriteAtomic(string target, ReadOnlySpan<byte> content)
    {
        ArgumentNullException.ThrowIfNull(target);
        var directory = Path.GetDirectoryName(target)!;
        var stream = CreateTemporary(directory, out var temporary);
        try
        {
            using (stream)
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            Commit(temporary, target);
        }
        catch
        {
            // Nothing half-written stays behind, whether the write or the rename failed.
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>Reads a regular file, refusing a symlink (only we write in the private directory; a link there was planted).</summary>
    public static byte[]? ReadRegularFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return null;
        }

        if (info.LinkTarget is not null)
        {
            throw new IOException($"'{path}' is a symbolic link; state files are never followed through links.");
        }

        return File.ReadAllBytes(path);
    }

    /// <summary>The effective user id of the process (0 = root).</summary>
    public static uint EffectiveUserId => OperatingSystem.IsWindows() ? uint.MaxValue : SystemNative.GetEUid();

    private enum FileType
    {
        Other,
        Directory,
        Link,
    }

    private readonly record struct Status(FileType Type, int Mode, uint Uid);

    private static Status? LStat(string path)
    {
        // .NET has no API for a file's owner. System.Native (the runtime's own POSIX shim, shipped with
        // every .NET) exports lstat with a platform-neutral FileStatus whose first fields are
        // Flags, Mode, Uid, Gid (int32 each): dotnet/runtime src/native/libs/System.Native/pal_io.h.
        // The struct is larger and has grown over releases, so a generous buffer is passed.
        Span<byte> buffer = stackalloc byte[512];
        var result = SystemNative.LStat(path, ref buffer[0]);

        if (result != 0)
        {
            return null; // ENOENT (or unreadable parent: creation then reports the real error)
        }

        var mode = BitConverter.ToInt32(buffer[4..8]);
        var uid = BitConverter.ToUInt32(buffer[8..12]);
        var type = (mode & 0xF000) switch
        {
            0x4000 => FileType.Directory,
            0xA000 => FileType.Link,
            _ => FileType.Other,
        };
        return new Status(type, mode, uid);
    }

    private static class SystemNative
    {
        [DllImport("libSystem.Native", EntryPoint = "SystemNative_LStat")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int LStat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, ref byte status);

        [DllImport("libSystem.Native", EntryPoint = "SystemNative_GetEUid")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern uint GetEUid();
    }
}
