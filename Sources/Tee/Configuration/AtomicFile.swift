#if canImport(Glibc)
import Glibc
#endif

/// Replaces a file atomically: readers see the old or the new contents, never a mix, and a
/// crash (or SIGKILL, or a full disk) at any point leaves one of the two whole.
///
/// The steps: write a temporary file `<path>.tmp` in the same directory — created with
/// `O_CREAT|O_EXCL|O_NOFOLLOW`, so a file or symlink planted there is never written through —
/// `fsync` it, `rename` it over `path`, then `fsync` the directory so the rename itself survives
/// a power cut. Any failure removes the temporary file and leaves `path` as it was.
enum AtomicFile {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The temporary file a replacement of `path` is written to.
    static func temporaryPath(for path: String) -> String { path + ".tmp" }

    /// Replaces `path` with `bytes`, mode `mode`.
    static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws(Failure) {
        let temporary = Self.temporaryPath(for: path)
        let fd = try Self.createExclusive(temporary, mode: mode)
        let (_, error) = DescriptorWriting.writeAll(bytes, to: fd)
        if let error {
            close(fd)
            unlink(temporary)
            throw Failure(description: "cannot write \(temporary): \(error)")
        }
        _ = fchmod(fd, mode)  // the umask may have narrowed it further; never wider than asked
        if fsync(fd) != 0 {
            let reason = SystemError.current
            close(fd)
            unlink(temporary)
            throw Failure(description: "cannot write \(temporary): \(reason)")
        }
        // close(2) reports delayed write errors on some file systems (NFS): a failed close is a failed write.
        guard close(fd) == 0 else {
            let reason = SystemError.current
            unlink(temporary)
            throw Failure(description: "cannot write \(temporary): \(reason)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = SystemError.current
            unlink(temporary)
            throw Failure(description: "cannot replace \(path): \(reason)")
        }
        Self.syncDirectory(of: path)
    }

    /// Creates `temporary` exclusively. One left behind by a crash is removed first (`unlink`
    /// removes a symlink, never its target) and the exclusive create is tried once more.
    private static func createExclusive(_ temporary: String, mode: mode_t) throws(Failure) -> Int32 {
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC
        var fd = open(temporary, flags, mode)
        if fd < 0, errno == EEXIST {
            unlink(temporary)
            fd = open(temporary, flags, mode)
        }
        guard fd >= 0 else { throw Failure(description: "cannot create \(temporary): \(SystemError.current)") }
        return fd
    }

    /// `fsync` on the directory holding `path`, so that a rename into it is on disk. Failures are
    /// ignored: the file itself is complete, and some file systems do not sync directories.
    private static func syncDirectory(of path: String) {
        let directory = Self.directory(of: path)
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// The directory part of `path` (`.` for a bare file name, `/` for a file in the root).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }
}
