import Foundation

/// Open file descriptors and resident memory of a process, read from /proc.
public struct ProcessFootprint: Sendable, CustomStringConvertible {
    /// Entries of /proc/PID/fd.
    public var openFiles: Int
    /// VmRSS from /proc/PID/status, in KiB.
    public var residentKiB: Int

    public static func of(pid: pid_t) throws -> ProcessFootprint {
        let files = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        return ProcessFootprint(openFiles: files, residentKiB: kib)
    }

    public var description: String { "\(self.openFiles) fds, RSS \(self.residentKiB) KiB" }
}
