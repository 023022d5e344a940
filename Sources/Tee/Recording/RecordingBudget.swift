/// How much of its `max_bytes` / `max_files` a recording directory has used: the recorder's
/// decisions, without files or clocks.
///
/// The recorder stops rather than rotates: a new recording is admitted only while both limits
/// leave room, and the bytes of an open one are granted only up to `max_bytes`.
struct RecordingBudget: Sendable, Hashable {
    var maximumBytes: Int
    var maximumRecordings: Int
    /// Bytes in the directory (found at start plus written since).
    private(set) var usedBytes: Int
    /// Recordings in the directory (found at start plus started since).
    private(set) var usedRecordings: Int

    init(maximumBytes: Int, maximumRecordings: Int, usedBytes: Int = 0, usedRecordings: Int = 0) {
        self.maximumBytes = maximumBytes
        self.maximumRecordings = maximumRecordings
        self.usedBytes = usedBytes
        self.usedRecordings = usedRecordings
    }

    /// Whether a new connection may be recorded; if so it is counted.
    mutating func admitRecording() -> Bool {
        guard self.usedRecordings < self.maximumRecordings, self.usedBytes < self.maximumBytes else { return false }
        self.usedRecordings += 1
        return true
    }

    /// How many of `count` bytes may be written (all of them, or what is left under `max_bytes`);
    /// those are counted as used.
    mutating func grant(bytes count: Int) -> Int {
        let granted = max(0, min(count, self.maximumBytes - self.usedBytes))
        self.usedBytes += granted
        return granted
    }

    /// Bytes written outside the grants (a `meta.json`), counted so the total stays honest.
    mutating func charge(bytes count: Int) {
        self.usedBytes += max(0, count)
    }
}
