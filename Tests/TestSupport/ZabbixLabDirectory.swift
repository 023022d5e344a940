import Foundation

/// Temporary directories for lab programs: configs, logs, pid files, sockets, databases.
///
/// Directories are `/tmp/zabbix-lab-<name>-XXXXXX` (short: Unix socket paths must fit 108 bytes),
/// world-traversable so a PostgreSQL cluster can run inside as the `postgres` user.
/// Set `ZABBIX_LAB_KEEP=1` to keep them after the programs stop, for post-mortems.
///
/// Each directory holds an `owner.pid` file with the test process's pid, so
/// `scripts/zabbix-lab-cleanup.sh` can find and stop what a killed test run left behind without
/// touching labs of test runs still alive.
public enum ZabbixLabDirectory {
    /// Creates a fresh directory (with `owner.pid`) and returns its path.
    public static func create(_ name: String) throws -> String {
        var template = Array("/tmp/zabbix-lab-\(name)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw ZabbixLabError.missing("temporary directory (errno \(errno))") }
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        chmod(path, 0o755)
        try "\(getpid())\n".write(toFile: "\(path)/owner.pid", atomically: false, encoding: .utf8)
        return path
    }

    /// Removes `path` unless `ZABBIX_LAB_KEEP` is set.
    public static func remove(_ path: String) {
        if ProcessInfo.processInfo.environment["ZABBIX_LAB_KEEP"] == nil {
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// The last `lines` lines of a text file, or "" if it cannot be read.
    public static func tail(_ path: String, lines: Int = 40) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}
