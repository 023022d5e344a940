import Logging
import Synchronization

/// A logger whose lines are kept in memory, so tests can check what was logged (message, level,
/// metadata) without parsing standard error.
public final class CapturedLog: Sendable {
    /// One logged line.
    public struct Entry: Sendable, CustomStringConvertible {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]
        public var description: String { "\(self.level) \(self.message) \(self.metadata)" }
    }

    private let storage = Mutex<[Entry]>([])

    public init() {}

    /// Every line so far, in order.
    public var entries: [Entry] { self.storage.withLock { $0 } }

    /// Lines whose message contains `text`.
    public func entries(containing text: String) -> [Entry] {
        self.entries.filter { $0.message.contains(text) }
    }

    /// A logger writing here, at `level` and above.
    public func logger(label: String = "test", level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { _ in Handler(log: self) }
        logger.logLevel = level
        return logger
    }

    fileprivate func append(_ entry: Entry) {
        self.storage.withLock { $0.append(entry) }
    }

    private struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var all = self.metadata
            if let extra = event.metadata { all.merge(extra) { _, new in new } }
            self.log.append(
                Entry(
                    level: event.level,
                    message: event.message.description,
                    metadata: all.mapValues { "\($0)" }
                )
            )
        }
    }
}
