import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A hard memory limit for a process started by a test, with whatever this machine offers, and
/// the process's peak resident memory.
///
/// In order of preference:
/// 1. `systemd-run --scope -p MemoryMax=N` when systemd is the init system (a Debian VM);
/// 2. a cgroup v2 directory with `memory.max` (no systemd, unified hierarchy);
/// 3. a cgroup v1 `memory` directory with `memory.limit_in_bytes` (containers with the legacy
///    hierarchy, as on the development machine);
/// 4. `prlimit --as` (address space: much weaker, a Swift process maps far more than it touches).
///
/// Each works by a command prefix that ends in an `exec`, so the limited process keeps the pid
/// the test started. A process that goes past the limit is killed by the kernel (OOM), which a
/// test sees as the process having exited.
public struct MemoryCeiling: Sendable {
    public enum Mechanism: String, Sendable {
        case systemdScope = "systemd-run --scope -p MemoryMax"
        case cgroupV2 = "cgroup v2 memory.max"
        case cgroupV1 = "cgroup v1 memory.limit_in_bytes"
        case addressSpace = "prlimit --as"
    }

    public let mechanism: Mechanism
    public let bytes: Int
    /// Put in front of the command: it execs the command under the limit.
    public let prefix: [String]
    /// The cgroup directory made for it, removed by ``remove()``.
    private let directory: String?

    /// A limit of `bytes` for one process; `name` names its cgroup.
    public static func make(bytes: Int, name: String) throws -> MemoryCeiling {
        let unique = "\(name)-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        if Self.systemdIsInit, FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-run") {
            return MemoryCeiling(
                mechanism: .systemdScope,
                bytes: bytes,
                prefix: [
                    "/usr/bin/systemd-run", "--scope", "--quiet", "--collect", "--unit", unique,
                    "-p", "MemoryMax=\(bytes)", "-p", "MemorySwapMax=0", "--",
                ],
                directory: nil
            )
        }
        if let directory = try? Self.cgroupV2(unique, bytes: bytes) {
            return MemoryCeiling(
                mechanism: .cgroupV2,
                bytes: bytes,
                prefix: Self.joining(directory),
                directory: directory
            )
        }
        if let directory = try? Self.cgroupV1(unique, bytes: bytes) {
            return MemoryCeiling(
                mechanism: .cgroupV1,
                bytes: bytes,
                prefix: Self.joining(directory),
                directory: directory
            )
        }
        // Address space, not memory: leave room for thread stacks and allocator arenas.
        return MemoryCeiling(
            mechanism: .addressSpace,
            bytes: bytes,
            prefix: ["/usr/bin/prlimit", "--as=\(bytes + (4 << 30))", "--"],
            directory: nil
        )
    }

    /// Removes the cgroup directory (once the process in it has exited).
    public func remove() {
        guard let directory else { return }
        rmdir(directory)
    }

    private static var systemdIsInit: Bool {
        FileManager.default.fileExists(atPath: "/run/systemd/system")
            && (try? String(contentsOfFile: "/proc/1/comm", encoding: .utf8))?.hasPrefix("systemd") == true
    }

    /// `sh -c 'echo $$ > DIR/cgroup.procs && exec "$0" "$@"'`: the shell moves itself into the
    /// cgroup, then becomes the command.
    private static func joining(_ directory: String) -> [String] {
        ["/bin/sh", "-c", "echo $$ > '\(directory)/cgroup.procs' && exec \"$0\" \"$@\""]
    }

    private static func cgroupV2(_ name: String, bytes: Int) throws -> String {
        let root = "/sys/fs/cgroup"
        guard let controllers = try? String(contentsOfFile: "\(root)/cgroup.controllers", encoding: .utf8),
            controllers.split(separator: " ").contains(where: { $0.hasPrefix("memory") })
        else { throw CeilingUnavailable() }
        try Self.write("+memory", to: "\(root)/cgroup.subtree_control")
        let directory = "\(root)/\(name)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        do {
            try Self.write("\(bytes)", to: "\(directory)/memory.max")
            if FileManager.default.fileExists(atPath: "\(directory)/memory.swap.max") {
                try Self.write("0", to: "\(directory)/memory.swap.max")
            }
        } catch {
            rmdir(directory)
            throw error
        }
        return directory
    }

    private static func cgroupV1(_ name: String, bytes: Int) throws -> String {
        let root = "/sys/fs/cgroup/memory"
        let own =
            (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8))?
            .split(separator: "\n")
            .first { $0.split(separator: ":", maxSplits: 2).dropFirst().first == "memory" }
            .map { String($0.split(separator: ":", maxSplits: 2).last ?? "") } ?? "/"
        let directory = "\(root)\(own == "/" ? "" : own)/\(name)"
        guard
            FileManager.default.fileExists(atPath: "\(root)/memory.limit_in_bytes")
                || FileManager.default.fileExists(atPath: "\(root)\(own)/memory.limit_in_bytes")
        else { throw CeilingUnavailable() }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        do {
            try Self.write("\(bytes)", to: "\(directory)/memory.limit_in_bytes")
            if FileManager.default.fileExists(atPath: "\(directory)/memory.memsw.limit_in_bytes") {
                try? Self.write("\(bytes)", to: "\(directory)/memory.memsw.limit_in_bytes")
            }
        } catch {
            rmdir(directory)
            throw error
        }
        return directory
    }

    private static func write(_ text: String, to path: String) throws {
        let descriptor = open(path, O_WRONLY)
        guard descriptor >= 0 else { throw CeilingUnavailable() }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ Glibc.write(descriptor, $0.baseAddress, $0.count) }) == bytes.count else {
            throw CeilingUnavailable()
        }
    }

    private struct CeilingUnavailable: Error {}
}

/// The resident memory of a running process, from /proc (Linux).
public enum ResidentMemory {
    /// `VmRSS` and `VmHWM` (the peak since start or since ``resetPeak(pid:)``), in bytes.
    public static func of(pid: pid_t) -> (current: Int, peak: Int)? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        func field(_ name: String) -> Int? {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else {
                return nil
            }
            return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }.map
            { $0 * 1024 }
        }
        guard let current = field("VmRSS"), let peak = field("VmHWM") else { return nil }
        return (current, peak)
    }

    /// Resets the process's peak (`VmHWM`) to its current resident memory: writes `5` to
    /// `/proc/PID/clear_refs` (Linux 4.0+; needs to own the process or be root). Returns whether
    /// it could.
    @discardableResult
    public static func resetPeak(pid: pid_t) -> Bool {
        let descriptor = open("/proc/\(pid)/clear_refs", O_WRONLY)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return Glibc.write(descriptor, "5", 1) == 1
    }
}
