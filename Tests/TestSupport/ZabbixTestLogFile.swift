import Foundation

/// A file for an active agent's `log[path]` item: the test appends lines, the agent ships them,
/// the server stores them in `history_log`. The agent must be able to read it (it can: tests run
/// the agents as the same user).
public final class ZabbixTestLogFile: Sendable {
    public let path: String
    private let directory: String

    /// Creates an empty file in a fresh lab directory.
    public init() throws {
        directory = try ZabbixLabDirectory.create("log")
        path = "\(directory)/test.log"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
    }

    /// The item key that follows this file: `log[path]`.
    public var itemKey: String { ZabbixTestItems.logKey(path) }

    /// Appends `line` and a newline.
    public func append(_ line: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((line + "\n").utf8))
    }

    /// Deletes the file and its directory.
    public func remove() {
        ZabbixLabDirectory.remove(directory)
    }
}
