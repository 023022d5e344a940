import Foundation

/// The processes of one process group, read from `/proc`.
///
/// Zabbix daemons fork many workers that share the daemon's process group; `ChildProcess` gives every
/// child it launches a group of its own. So "stop a daemon" is "signal its group until the group
/// is empty", and "nothing left running" is checkable.
public enum ProcessGroup {
    /// A live (non-zombie) process.
    public struct Member: Sendable, Equatable {
        public let pid: Int32
        public let command: String
    }

    /// Live processes whose process group is `pgid` (zombies are not counted).
    public static func members(_ pgid: Int32) -> [Member] {
        allProcesses().filter { $0.pgid == pgid }.map { Member(pid: $0.pid, command: $0.command) }
    }

    /// Live processes whose command name (as in `/proc/PID/comm`, at most 15 bytes) is `command`.
    public static func processes(named command: String) -> [Member] {
        allProcesses().filter { $0.command == command }.map { Member(pid: $0.pid, command: $0.command) }
    }

    /// Signals every process in group `pgid`.
    public static func signal(_ pgid: Int32, _ signal: Int32) {
        _ = kill(-pgid, signal)
    }

    /// SIGTERMs the group, waits up to `grace` for it to empty, then SIGKILLs what is left.
    /// Returns the members still alive at the end (normally none).
    public static func terminate(_ pgid: Int32, grace: Duration) async -> [Member] {
        signal(pgid, SIGTERM)
        if (try? await waitUntil("group \(pgid) to exit", timeout: grace) { members(pgid).isEmpty }) != nil {
            return []
        }
        signal(pgid, SIGKILL)
        _ = try? await waitUntil("group \(pgid) to die", timeout: .seconds(5)) { members(pgid).isEmpty }
        return members(pgid)
    }

    /// Blocking twin of `terminate`, for an `atexit` handler.
    @discardableResult
    public static func terminateBlocking(_ pgid: Int32, grace: Duration) -> [Member] {
        signal(pgid, SIGTERM)
        if waitUntilBlocking(timeout: grace, { members(pgid).isEmpty }) { return [] }
        signal(pgid, SIGKILL)
        waitUntilBlocking(timeout: .seconds(5)) { members(pgid).isEmpty }
        return members(pgid)
    }

    private struct Entry {
        let pid: Int32
        let command: String
        let pgid: Int32
    }

    private static func allProcesses() -> [Entry] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return names.compactMap { name -> Entry? in
            guard let pid = Int32(name),
                let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
            else { return nil }
            // "pid (comm) state ppid pgrp ..." — comm may itself contain spaces and parentheses.
            let command = String(stat[stat.index(after: open)..<close])
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, fields[0] != "Z", fields[0] != "X", let pgid = Int32(fields[2]) else { return nil }
            return Entry(pid: pid, command: command, pgid: pgid)
        }
    }
}
