using System.Text;
using MtlsGate.Tls;

namespace MtlsGate.Cli;

/// <summary>
/// Writes a secret (private key, PKCS#12) so that nobody but the owner can read it, not even for an
/// instant: open(2) itself creates the file with mode 0600 (<see cref="FileStreamOptions.UnixCreateMode"/>;
/// the umask can only remove bits), instead of creating it with the umask's mode and chmodding it
/// afterwards, which a reader can race. Every write is atomic: a fresh 0600 file beside the target, then a
/// rename over it. An existing target, whatever its mode, is therefore <b>replaced</b> by the new 0600
/// file and never written in place; a reader that already had it open keeps only the old content.
/// </summary>
public static class PrivateFile
{
    /// <summary>0600: read and write for the owner only.</summary>
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>0700, for a folder created to hold secrets.</summary>
    public const UnixFileMode OwnerOnlyFolder = OwnerOnly | UnixFileMode.UserExecute;

    /// <summary>Atomically replaces <paramref name="path"/> with a new 0600 file holding <paramref name="content"/>
    /// (the state directory's writer: random name, O_EXCL 0600, flush, rename).</summary>
    public static void Write(string path, ReadOnlySpan<byte> content) => PrivateDirectory.WriteAtomic(Path.GetFullPath(path), content);

    /// <inheritdoc cref="Write(string, ReadOnlySpan{byte})"/>
    public static void Write(string path, string content) => Write(path, Encoding.UTF8.GetBytes(content));

    /// <summary>Creates <paramref name="directory"/> (and parents) if missing; a folder it creates is 0700. An existing one is left as it is.</summary>
    public static void CreateFolder(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            Directory.CreateDirectory(directory, OwnerOnlyFolder);
        }
    }
}
