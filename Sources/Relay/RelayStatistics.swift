import Synchronization

/// Counters for one listener, safe to read from any thread (for metrics and tests).
public final class RelayStatistics: Sendable {
    private let accepted = Atomic<Int>(0)
    private let active = Atomic<Int>(0)
    private let refusedNotAllowed = Atomic<Int>(0)
    private let refusedSourceLimit = Atomic<Int>(0)
    private let refusedRateLimit = Atomic<Int>(0)
    private let refusedMaxConnections = Atomic<Int>(0)
    private let refusedProcessLimit = Atomic<Int>(0)
    private let timedOutFirstByte = Atomic<Int>(0)
    private let timedOutDrain = Atomic<Int>(0)
    private let timedOutClientFin = Atomic<Int>(0)
    private let timedOutServerReply = Atomic<Int>(0)
    private let noTarget = Atomic<Int>(0)
    private let clientToServer = Atomic<Int>(0)
    private let serverToClient = Atomic<Int>(0)
    private let inFlight = Atomic<Int>(0)
    private let peakInFlight = Atomic<Int>(0)
    private let tapFailures = Atomic<Int>(0)
    private let idleTimeouts = Atomic<Int>(0)
    private let clientErrors = Atomic<Int>(0)
    private let targetErrors = Atomic<Int>(0)

    public init() {}

    /// Client connections admitted by the listener (relayed, or closed because no target could be
    /// connected); refused ones are counted by ``connectionsRefused(_:)`` only.
    public var connectionsAccepted: Int { self.accepted.load(ordering: .relaxed) }
    /// Client connections currently open.
    public var connectionsActive: Int { self.active.load(ordering: .relaxed) }
    /// Client connections closed on accept, before any target connect, for `reason`.
    public func connectionsRefused(_ reason: ConnectionAdmission.Reason) -> Int {
        self.withRefusedCounter(reason) { $0.load(ordering: .relaxed) }
    }
    /// Client connections closed because no target could be connected.
    public var connectionsWithoutTarget: Int { self.noTarget.load(ordering: .relaxed) }
    /// Connections closed because neither side sent or received anything for the idle timeout.
    public var connectionsIdleTimedOut: Int { self.idleTimeouts.load(ordering: .relaxed) }
    /// Connections closed by `reason`'s deadline (``RelayTimeout``; `.idle` is
    /// ``connectionsIdleTimedOut``).
    public func connectionsTimedOut(_ reason: RelayTimeout) -> Int {
        self.withTimeoutCounter(reason) { $0.load(ordering: .relaxed) }
    }
    /// Channels of relayed connections closed by a socket error (a reset, a write to a peer
    /// that is gone), by the side that failed: `.clientToServer` counts client-side channels,
    /// `.serverToClient` target-side ones. At most one per channel.
    public func connectionErrors(readingFrom direction: RelayDirection) -> Int {
        switch direction {
        case .clientToServer: return self.clientErrors.load(ordering: .relaxed)
        case .serverToClient: return self.targetErrors.load(ordering: .relaxed)
        }
    }
    /// Taps detached because they threw.
    public var tapFailuresCount: Int { self.tapFailures.load(ordering: .relaxed) }

    /// Bytes delivered (written to the other side) in `direction`.
    public func bytesRelayed(_ direction: RelayDirection) -> Int {
        switch direction {
        case .clientToServer: return self.clientToServer.load(ordering: .relaxed)
        case .serverToClient: return self.serverToClient.load(ordering: .relaxed)
        }
    }

    /// Bytes read from one side that the other side's socket has not taken yet (between the
    /// read and the write, or waiting in a spill buffer), summed over all connections of the
    /// listener. This is the relay's own buffering: at most one read batch per direction.
    public var bytesInFlight: Int { self.inFlight.load(ordering: .relaxed) }
    /// The highest ``bytesInFlight`` seen since start (or the last ``resetPeakBytesInFlight()``).
    public var peakBytesInFlight: Int { self.peakInFlight.load(ordering: .relaxed) }

    public func resetPeakBytesInFlight() {
        self.peakInFlight.store(self.inFlight.load(ordering: .relaxed), ordering: .relaxed)
    }

    func connectionAccepted() {
        self.accepted.add(1, ordering: .relaxed)
        self.active.add(1, ordering: .relaxed)
    }
    func connectionClosed() { self.active.subtract(1, ordering: .relaxed) }
    func connectionRefused(_ reason: ConnectionAdmission.Reason) {
        self.withRefusedCounter(reason) { _ = $0.add(1, ordering: .relaxed) }
    }
    func connectionWithoutTarget() { self.noTarget.add(1, ordering: .relaxed) }
    func timedOut(_ reason: RelayTimeout) {
        self.withTimeoutCounter(reason) { _ = $0.add(1, ordering: .relaxed) }
    }
    func connectionError(readingFrom direction: RelayDirection) {
        switch direction {
        case .clientToServer: self.clientErrors.add(1, ordering: .relaxed)
        case .serverToClient: self.targetErrors.add(1, ordering: .relaxed)
        }
    }
    func tapFailed() { self.tapFailures.add(1, ordering: .relaxed) }

    private func withRefusedCounter<R>(_ reason: ConnectionAdmission.Reason, _ body: (borrowing Atomic<Int>) -> R) -> R
    {
        switch reason {
        case .notAllowed: return body(self.refusedNotAllowed)
        case .sourceLimit: return body(self.refusedSourceLimit)
        case .rateLimit: return body(self.refusedRateLimit)
        case .maxConnections: return body(self.refusedMaxConnections)
        case .processLimit: return body(self.refusedProcessLimit)
        }
    }

    private func withTimeoutCounter<R>(_ reason: RelayTimeout, _ body: (borrowing Atomic<Int>) -> R) -> R {
        switch reason {
        case .idle: return body(self.idleTimeouts)
        case .firstByte: return body(self.timedOutFirstByte)
        case .drain: return body(self.timedOutDrain)
        case .clientFin: return body(self.timedOutClientFin)
        case .serverReply: return body(self.timedOutServerReply)
        }
    }

    /// `count` bytes read from one side wait to be written to the other side.
    func bytesHeld(_ count: Int) {
        let now = self.inFlight.add(count, ordering: .relaxed).newValue
        var peak = self.peakInFlight.load(ordering: .relaxed)
        while now > peak {
            let (exchanged, original) = self.peakInFlight.compareExchange(
                expected: peak,
                desired: now,
                ordering: .relaxed
            )
            if exchanged { break }
            peak = original
        }
    }

    /// `count` held bytes were written, or dropped.
    func bytesReleased(_ count: Int) {
        self.inFlight.subtract(count, ordering: .relaxed)
    }

    /// `count` bytes were written to the other side in `direction`.
    func bytesDelivered(_ count: Int, direction: RelayDirection) {
        switch direction {
        case .clientToServer: self.clientToServer.add(count, ordering: .relaxed)
        case .serverToClient: self.serverToClient.add(count, ordering: .relaxed)
        }
    }
}
