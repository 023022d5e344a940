import Synchronization

/// State the event loop publishes for other threads: the wake-up flag producers use, and
/// connection counters for metrics. Everything here is a single atomic word.
final class RiemannClientCounters: Sendable {
    /// True while the event loop is able to send and waits to be told about new events.
    /// A producer that flips it to false owns the duty to schedule one wake-up.
    let wakeupArmed = Atomic<Bool>(false)
    let messagesInFlight = Atomic<Int>(0)
    let eventsInFlight = Atomic<Int>(0)
    let connectedServerIndex = Atomic<Int>(-1)
    let connectionsEstablished = Atomic<UInt64>(0)
    let connectAttemptsFailed = Atomic<UInt64>(0)
    let connectionsLost = Atomic<UInt64>(0)
    let acknowledgementTimeouts = Atomic<UInt64>(0)
    let messagesRejected = Atomic<UInt64>(0)
    /// Time from writing a message to reading its reply (ok or not).
    let acknowledgementLatency = RiemannLatencyHistogram()

    /// Claims the wake-up duty; true if the caller must wake the event loop.
    func claimWakeup() -> Bool {
        self.wakeupArmed.compareExchange(expected: true, desired: false, ordering: .acquiringAndReleasing).exchanged
    }
}

/// A snapshot of a ``RiemannClient``'s queue and connection counters, for metrics.
public struct RiemannClientStatistics: Sendable, Equatable {
    /// Queue depth, enqueued/sent/acknowledged/requeued events and drops per reason.
    public var queue: RiemannQueueStatistics
    /// Messages written and not yet acknowledged.
    public var messagesInFlight: Int
    /// Events in those messages.
    public var eventsInFlight: Int
    /// The server currently connected, if any.
    public var connectedServer: RiemannServerAddress?
    /// Connections established since start.
    public var connectionsEstablished: UInt64
    /// Connection attempts that failed (refused, timed out, unresolvable).
    public var connectAttemptsFailed: UInt64
    /// Established connections that were lost or closed by the client (ack timeout, error).
    public var connectionsLost: UInt64
    /// Times the oldest unacknowledged message waited longer than the ack timeout.
    public var acknowledgementTimeouts: UInt64
    /// Messages the server answered with `ok=false` (their events are counted in
    /// `queue.dropped[.rejectedByServer]`).
    public var messagesRejected: UInt64
    /// Time from writing a message to reading its reply (`ok=true` or not), one sample per message.
    public var acknowledgementLatency: RiemannLatencyHistogram.Snapshot
}
