import Logging
import NIOCore

/// State shared by the two glue handlers of one relayed connection: its identity, the tap,
/// the listener's counters, and how many of its two channels are still open.
///
/// Confined to the connection's event loop (both channels share it).
final class RelayConnection {
    let info: RelayConnectionInfo
    let statistics: RelayStatistics
    let log: RelayConnectionLogger
    /// How long a channel whose partner has closed may take to flush what is queued for it.
    let drainTimeout: TimeAmount
    private var tap: (any RelayConnectionTap)?
    private var openChannels = 2
    private let onClosed: () -> Void

    init(
        info: RelayConnectionInfo, statistics: RelayStatistics, log: RelayConnectionLogger, drainTimeout: TimeAmount,
        tap: (any RelayConnectionTap)?, onClosed: @escaping () -> Void
    ) {
        self.info = info
        self.statistics = statistics
        self.log = log
        self.drainTimeout = drainTimeout
        self.tap = tap
        self.onClosed = onClosed
    }

    func observe(_ bytes: ByteBuffer, direction: RelayDirection) {
        guard let tap = self.tap else { return }
        do {
            try tap.observe(bytes, direction: direction)
        } catch {
            self.detachTap(after: error)
        }
    }

    func endOfStream(_ direction: RelayDirection) {
        guard let tap = self.tap else { return }
        do {
            try tap.endOfStream(direction)
        } catch {
            self.detachTap(after: error)
        }
    }

    /// One of the two channels became inactive; the second call ends the connection.
    func channelClosed() {
        self.openChannels -= 1
        guard self.openChannels == 0 else { return }
        self.tap?.connectionClosed()
        self.tap = nil
        self.log.debug("connection closed")
        self.onClosed()
    }

    private func detachTap(after error: any Error) {
        self.statistics.tapFailed()
        self.log.logger.warning(
            "tap failed; this connection is still relayed but no longer observed",
            metadata: ["error": "\(error)"])
        self.tap?.connectionClosed()
        self.tap = nil
    }
}
