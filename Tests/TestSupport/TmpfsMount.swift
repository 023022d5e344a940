import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A small tmpfs mounted for one test: a file system that fills up, for the writer-fault tests
/// (recordings, the catalog, log output hitting ENOSPC).
///
/// Mounting needs root (CAP_SYS_ADMIN), as CI runs the tests; ``unavailableReason`` says why it
/// cannot be done here, for `.enabled(if:)` traits. The mount is detached (`MNT_DETACH`) and its
/// directory removed by ``unmount()``; a mount a killed test left behind goes with the lab
/// directory clean-up (`scripts/zabbix-lab-cleanup.sh` unmounts `/tmp/zabbix-lab-*`).
public final class TmpfsMount: Sendable {
    /// The mount point, under a fresh lab directory.
    public let path: String
    private let directory: String

    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// Mounts a tmpfs of `sizeBytes` (rounded up to pages by the kernel), mode 0700.
    public static func mount(sizeBytes: Int) throws -> TmpfsMount {
        let directory = try ZabbixLabDirectory.create("tmpfs")
        let path = "\(directory)/disk"
        mkdir(path, 0o700)
        guard Glibc.mount("tmpfs", path, "tmpfs", 0, "size=\(sizeBytes),mode=0700") == 0 else {
            let reason = String(cString: strerror(errno))
            ZabbixLabDirectory.remove(directory)
            throw Unavailable(
                description: "cannot mount a tmpfs (\(reason)); the writer-fault tests need root (CAP_SYS_ADMIN)"
            )
        }
        return TmpfsMount(path: path, directory: directory)
    }

    /// `nil` when a tmpfs can be mounted here; otherwise why not (also printed on standard
    /// error, so that a skipped test's reason is in the test log).
    public static let unavailableReason: String? = {
        do {
            try TmpfsMount.mount(sizeBytes: 4096).unmount()
            return nil
        } catch {
            let reason = "\(error)"
            let line = Array("TmpfsMount: the writer-fault tests are skipped: \(reason)\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            return reason
        }
    }()

    /// Whether tests can mount one (for `.enabled(if:)`).
    public static var isAvailable: Bool { self.unavailableReason == nil }

    private init(path: String, directory: String) {
        self.path = path
        self.directory = directory
    }

    /// Writes zeros to `name` until the file system is full; returns the file's path.
    @discardableResult
    public func fill(name: String = "filler") -> String {
        let file = "\(self.path)/\(name)"
        let fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return file }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0, count: 4096)
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        // A last partial page may still fit.
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, 1) }) > 0 {}
        return file
    }

    /// Bytes still free.
    public var freeBytes: Int {
        var info = statvfs()
        guard statvfs(self.path, &info) == 0 else { return 0 }
        return Int(info.f_bavail) * Int(info.f_frsize)
    }

    /// Detaches the mount and removes its directory.
    public func unmount() {
        umount2(self.path, Int32(MNT_DETACH))
        rmdir(self.path)
        ZabbixLabDirectory.remove(self.directory)
    }
}
