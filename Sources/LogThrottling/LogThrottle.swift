import Logging
import NIOCore
import Synchronization

/// Lets a warning through the first time it happens and then at most once per interval, per key,
/// counting the occurrences it held back. Thread-safe: connections are refused on several event
/// loops at once.
///
/// Used where one misbehaving or overloaded peer could otherwise write a log line per connection
/// or per frame: refused connections, oversized frames, a full item catalog, Riemann connect
/// failures, lost connections and rejected messages. The exact totals are in the counters; the log
/// says that it happens, how often since the previous line, and to whom last.
///
/// It lives in its own small module so that every module that logs on behalf of peers (Relay,
/// Riemann, Tee) shares this one type without depending on each other.
public final class LogThrottle<Key: Hashable & Sendable>: Sendable {
    /// The shortest time between two lines for the same key.
    public let interval: TimeAmount

    private struct Entry {
        var lastLogged: NIODeadline
        var suppressed: Int
    }

    private let entries = Mutex<[Key: Entry]>([:])

    /// A throttle letting one line per key through every `interval` (60 s by default).
    public init(interval: TimeAmount = .seconds(60)) {
        self.interval = interval
    }

    /// Records one occurrence of `key`. Returns `nil` when it must not be logged; otherwise the
    /// number of occurrences held back since the previous line for this key (0 the first time).
    public func record(_ key: Key, now: NIODeadline = .now()) -> Int? {
        self.entries.withLock { entries in
            if var entry = entries[key], now < entry.lastLogged + self.interval {
                entry.suppressed += 1
                entries[key] = entry
                return nil
            }
            let suppressed = entries[key]?.suppressed ?? 0
            entries[key] = Entry(lastLogged: now, suppressed: 0)
            return suppressed
        }
    }

    /// Records one occurrence of `key` and, when it may be logged, logs `message` as a warning
    /// with `metadata` plus `suppressed-since-last-warning` (how many were not logged since the
    /// previous line) when some were held back.
    public func warning(
        _ key: Key,
        _ message: @autoclosure () -> Logger.Message,
        logger: Logger,
        metadata: @autoclosure () -> Logger.Metadata = [:],
        now: NIODeadline = .now()
    ) {
        guard let suppressed = self.record(key, now: now) else { return }
        var metadata = metadata()
        if suppressed > 0 { metadata["suppressed-since-last-warning"] = "\(suppressed)" }
        logger.warning(message(), metadata: metadata)
    }
}
