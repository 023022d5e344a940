import Synchronization

/// Whether a stop already ran, for objects whose `stop()` and blocking `stopBlocking()` (the
/// `atexit` clean-up) may both be called, from any thread: only the first call does the work.
public final class StopOnce: Sendable {
    private let stopped = Mutex(false)

    public init() {}

    /// True for the first call only.
    public func claim() -> Bool {
        self.stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
    }
}
