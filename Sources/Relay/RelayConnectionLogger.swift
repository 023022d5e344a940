import Logging
import NIOCore

/// The log metadata of one relayed connection (`connection`, `peer`, `target`, on top of the
/// listener's), built only when a message is actually logged: formatting addresses and ids for
/// every connection cost more than the rest of a short connection's setup.
struct RelayConnectionLogger {
    let base: Logger
    let connectionID: UInt64
    var peer: SocketAddress?
    var target: Endpoint?

    init(base: Logger, connectionID: UInt64) {
        self.base = base
        self.connectionID = connectionID
    }

    /// Whether `debug` messages are logged at all; check before building a debug message.
    var debugEnabled: Bool { self.base.logLevel <= .debug }

    /// The listener's logger with this connection's metadata.
    var logger: Logger {
        var logger = self.base
        logger[metadataKey: "connection"] = "\(self.connectionID)"
        if let peer = self.peer { logger[metadataKey: "peer"] = "\(peer.displayText)" }
        if let target = self.target { logger[metadataKey: "target"] = "\(target)" }
        return logger
    }

    func debug(_ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata? = nil) {
        guard self.debugEnabled else { return }
        self.logger.debug(message(), metadata: metadata())
    }
}
