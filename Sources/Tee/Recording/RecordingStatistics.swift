import Synchronization

/// What the recorders did, per listener, for `/metrics`: recordings finished (complete or not),
/// write errors, and connections not recorded.
public final class RecordingStatistics: Sendable {
    /// Why a connection was not recorded.
    public enum SkipReason: String, Sendable, Hashable, CaseIterable {
        /// `max_bytes` or `max_files` reached.
        case limit
        /// The directory is refused (another owner, writable by everyone) or cannot be created,
        /// or the recording's own directory or files could not be created.
        case error
    }

    /// Counts of one listener.
    public struct Counts: Sendable, Hashable {
        public var complete = 0
        public var incomplete = 0
        public var writeErrors = 0
        public var skipped: [SkipReason: Int] = [:]
    }

    private let counts = Mutex<[String: Counts]>([:])

    public init() {}

    /// Counts by listener name.
    public var byListener: [String: Counts] { self.counts.withLock { $0 } }

    func finished(listener: String, complete: Bool) {
        self.counts.withLock { counts in
            if complete {
                counts[listener, default: Counts()].complete += 1
            } else {
                counts[listener, default: Counts()].incomplete += 1
            }
        }
    }

    func writeFailed(listener: String) {
        self.counts.withLock { $0[listener, default: Counts()].writeErrors += 1 }
    }

    func skipped(listener: String, reason: SkipReason) {
        self.counts.withLock { $0[listener, default: Counts()].skipped[reason, default: 0] += 1 }
    }
}
