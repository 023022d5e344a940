/// A listener's `record:` option: where its connections are written and how much of the disk
/// that may take.
///
/// `record: /var/lib/zabbix-tee/recordings` (defaults for the limits) or
/// `record: { path: ..., max_bytes: 1GiB, max_files: 10000 }`. When a limit is reached the
/// recorder *stops* rather than rotates: new connections are not recorded (counted, warned), a
/// recording that reaches `max_bytes` ends there (its `meta.json` says incomplete), and nothing
/// already written is ever deleted by the tee. Recordings found in the directory at start count
/// against the limits, so a restart does not start a fresh budget; remove old recordings to let
/// recording resume (after a restart, or a reload that changes the `record` settings).
public struct RecordingConfiguration: Sendable, Hashable {
    /// The directory (key `path`, or the value of `record` itself).
    public var path: String
    /// Bytes of recordings (all files) in the directory, at most. Key `max_bytes`, default 1 GiB.
    public var maximumBytes: Int
    /// Connection recordings (directories of `client.bin`, `server.bin`, `meta.json`) in the
    /// directory, at most. Key `max_files`, default 10 000.
    public var maximumRecordings: Int

    public static let defaultMaximumBytes = 1 << 30
    public static let defaultMaximumRecordings = 10_000

    public init(
        path: String,
        maximumBytes: Int = Self.defaultMaximumBytes,
        maximumRecordings: Int = Self.defaultMaximumRecordings
    ) {
        self.path = path
        self.maximumBytes = maximumBytes
        self.maximumRecordings = maximumRecordings
    }
}
