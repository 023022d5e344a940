import LogThrottling
import Logging

/// The log lines of the Riemann client: what each ``RiemannConnectionStateMachine/LogEvent``
/// says, at which level, and which ones are throttled.
extension RiemannConnectionController {
    /// Log lines that can repeat as often as connections fail or messages are rejected, each
    /// throttled on its own.
    enum LogKey: Hashable, Sendable {
        case connectFailed, connectionLost, acknowledgementTimeout, rejected
    }

    /// Writes the line `event` calls for.
    func log(_ event: Machine.LogEvent) {
        switch event {
        case .connecting(let server):
            self.logger.debug("Connecting to \(self.wireFormat.title)", metadata: ["server": "\(server)"])
        case .connected(let server):
            self.logger.info("Connected to \(self.wireFormat.title)", metadata: ["server": "\(server)"])
        case .connectFailed(let server, let error, let next, let delay):
            // A server that stays down would log on every retry: warn once per interval, debug otherwise.
            self.throttledWarning(
                .connectFailed,
                "\(self.wireFormat.title) connect failed",
                metadata: [
                    "server": "\(server)", "error": "\(error)", "next-server": "\(next)",
                    "retry-in-ms": "\(delay.nanoseconds / 1_000_000)",
                ]
            )
        case .connectionLost(let server, .acknowledgementTimeout(let messages), let requeued, let delay):
            self.throttledWarning(
                .acknowledgementTimeout,
                "\(self.wireFormat.title) acknowledgement timed out; closing the connection and queueing unacknowledged events again",
                metadata: [
                    "server": "\(server)", "messages-in-flight": "\(messages)", "requeued-events": "\(requeued)",
                    "retry-in-ms": "\(delay.nanoseconds / 1_000_000)",
                ]
            )
        case .connectionLost(let server, let cause, let requeued, let delay):
            let error: String
            switch cause {
            case .closed(let text): error = text ?? "closed"
            case .unexpectedReply: error = "a reply nobody asked for"
            case .writeFailed(let text): error = "write failed: \(text)"
            case .acknowledgementTimeout: error = "acknowledgement timed out"
            }
            self.throttledWarning(
                .connectionLost,
                "\(self.wireFormat.title) connection lost",
                metadata: [
                    "server": "\(server)", "error": "\(error)", "requeued-events": "\(requeued)",
                    "retry-in-ms": "\(delay.nanoseconds / 1_000_000)",
                ]
            )
        case .rejected(let error, let events):
            self.throttledWarning(
                .rejected,
                "\(self.wireFormat.title) rejected a message (ok=false); its events are dropped",
                metadata: ["error": "\(error ?? "")", "events": "\(events)"]
            )
        case .serverRemoved(let server, let next, let requeued):
            self.logger.info(
                "\(self.wireFormat.title) server no longer configured; moving to the first configured one",
                metadata: ["server": "\(server)", "next-server": "\(next)", "requeued-events": "\(requeued)"]
            )
        case .shutDown(let reason, let unsent, let unacknowledged):
            if unsent + unacknowledged > 0 {
                self.logger.warning(
                    "\(self.wireFormat.title) client shut down with undelivered events",
                    metadata: ["reason": "\(reason)", "unsent": "\(unsent)", "unacknowledged": "\(unacknowledged)"]
                )
            } else {
                self.logger.debug("\(self.wireFormat.title) client shut down", metadata: ["reason": "\(reason)"])
            }
        }
    }

    /// A warning at most once per ``RiemannClientConfiguration/rejectionLogInterval`` per key
    /// (with how many were held back); the others at debug level.
    private func throttledWarning(_ key: LogKey, _ message: Logger.Message, metadata: Logger.Metadata) {
        if let suppressed = self.logThrottle.record(key, now: self.eventLoop.now) {
            var metadata = metadata
            metadata["suppressed-since-last-warning"] = "\(suppressed)"
            self.logger.warning(message, metadata: metadata)
        } else {
            self.logger.debug(message, metadata: metadata)
        }
    }
}
