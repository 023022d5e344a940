import NIOCore

/// The relay rules for one connection (both sockets, both directions) as a pure value: events in,
/// actions out, no system calls, no clock (time is passed in), no allocation.
///
/// The I/O shell (``RelayEventLoop`` on Linux) reports what the kernel said — readiness from
/// `epoll`, the result of each read, write, shutdown and connect — and then asks
/// ``nextAction()`` what to do until it returns `nil`. Every action that has a result (a read, a
/// write, a connect...) must have its result reported before ``nextAction()`` is asked again.
/// The shell owns the bytes (one scratch buffer per loop, a spill buffer per direction when a
/// write is short); this type owns their counts and every decision:
///
/// - **Read on write success.** A socket is read only while nothing read from it waits for the
///   other side; bytes read are written to the other side at once, and whatever the kernel does
///   not take is stashed ("pending") and must be flushed before that socket is read again. Each
///   direction therefore holds at most one read batch.
/// - **Half-close after the bytes before it.** A source's end of stream (or failure) becomes
///   `shutdown(SHUT_WR)` on the destination once nothing is pending for it — or `close` when the
///   destination's own input has already ended, which sends the same FIN with one call less. The
///   other direction keeps flowing.
/// - **Close only when both are done.** A socket is closed once its input has ended (read to end
///   of stream or failed: closing with unread bytes would send a reset and discard what is still
///   queued for the peer) and its output is shut or failed. A socket whose partner is gone keeps
///   being read (and discarded) until its end of stream, bounded by the deadlines.
/// - **Deadlines** (``RelayTimeouts``): connect per attempt, first byte, idle, drain, client FIN,
///   server reply; one ``deadline`` at a time for the shell's timer wheel, re-checked when it
///   fires (activity moves deadlines later without touching the wheel).
/// - **Failover**: a connect that fails or times out is reported, its socket closed, and the next
///   candidate tried; with none left the client is closed.
/// - **The tap** sees every relayed byte in order, after the write was attempted, and the end of
///   each direction; it never influences what happens.
///
/// The explicit states: ``Phase`` for the connection, and per socket its ``Descriptor``,
/// ``Input`` and ``Output`` (the readiness bits are what edge-triggered epoll reported and are
/// remembered until a read or write would block).
public struct RelayStateMachine: Sendable {
    // MARK: - States

    /// Where the connection is in its life.
    public enum Phase: Sendable, Hashable {
        /// Accepted; the shell is asked whether the listener admits it.
        case admitting
        /// Admitted; getting a server socket connected.
        case connecting(Connecting)
        /// Connected: bytes flow both ways under the relay rules.
        case relaying
        /// Closing whatever is open without relaying more (refused, no target, a deadline, a
        /// close requested from outside).
        case closing(Closing)
        /// Both sockets closed and the connection reported finished.
        case finished
    }

    /// The target connect in progress.
    public enum Connecting: Sendable, Hashable {
        /// The `attempt`-th candidate is to be tried next.
        case next(attempt: Int)
        /// Connecting to the `attempt`-th candidate since `since`.
        case inProgress(attempt: Int, since: NIODeadline)
        /// The attempt failed (or timed out); to be reported, its socket closed, the next tried.
        case failed(attempt: Int, timedOut: Bool, reported: Bool)
        /// Connected; to be reported before relaying starts.
        case established(attempt: Int)
    }

    /// Why the connection closes without relaying more.
    public enum Closing: Sendable, Hashable {
        /// The admission refused it.
        case refused
        /// Every candidate target failed.
        case noTarget(reported: Bool)
        /// A deadline passed.
        case timedOut(RelayTimeout, reported: Bool)
        /// ``closeRequested()``.
        case requested
    }

    /// A socket's descriptor.
    public enum Descriptor: Sendable, Hashable {
        /// None yet (the server socket before a connect attempt, or between two).
        case absent
        case open
        case closed
    }

    /// What is left of the bytes a socket's peer sends.
    public enum Input: Sendable, Hashable {
        case open
        /// End of stream read.
        case ended
        /// A read failed (reset): nothing more will come.
        case failed
    }

    /// What is left of the bytes the relay sends to a socket's peer.
    public enum Output: Sendable, Hashable {
        case open
        /// End of stream sent (`shutdown(SHUT_WR)` or `close` after the input ended).
        case shut
        /// A write or the shutdown failed: nothing more can be sent.
        case failed
    }

    /// One socket of the connection.
    public struct Socket: Sendable, Hashable {
        public internal(set) var descriptor: Descriptor
        public internal(set) var input: Input = .open
        public internal(set) var output: Output = .open
        /// Edge-triggered readiness, remembered until a read would block.
        public internal(set) var readable = false
        /// Edge-triggered readiness, remembered until a write would block.
        public internal(set) var writable = false
        /// The peer's FIN has arrived (`EPOLLRDHUP`): a short read is the end of stream.
        public internal(set) var peerClosed = false
        /// `EPOLLERR`: the socket has an error to report.
        public internal(set) var errorPending = false
        /// This socket failed and its error was counted (once per socket).
        public internal(set) var errorCounted = false
        /// The failure is to be reported (``Action/countError(_:)``).
        var errorToReport = false
        /// The tap was told this socket's input ended.
        var endObserved = false

        init(descriptor: Descriptor) {
            self.descriptor = descriptor
        }

        public var isOpen: Bool { self.descriptor == .open }
    }

    /// What the one per-loop scratch buffer holds for this connection between two actions.
    enum Scratch: Sendable, Hashable {
        case empty
        /// `count` bytes just read in `direction`, not written yet.
        case read(RelayDirection, count: Int)
        /// `count` bytes of `direction` written (or stashed); the tap has not seen them yet.
        case written(RelayDirection, count: Int)
    }

    /// The action whose result the shell owes.
    enum Awaiting: Sendable, Hashable {
        case admission
        case connect
        case read(RelaySide, discard: Bool)
        case write(RelayDirection, count: Int)
        case flush(RelayDirection)
        case shutdown(RelaySide)
        case collectError(RelaySide)
    }

    /// Reads per socket before a connection yields to the others on its loop.
    public static let readsPerTurn = 16

    public internal(set) var phase: Phase = .admitting
    public internal(set) var client = Socket(descriptor: .open)
    public internal(set) var server = Socket(descriptor: .absent)
    /// Bytes read from the client that the server has not taken yet (in the shell's spill buffer).
    public internal(set) var pendingToServer = 0
    /// Bytes read from the server that the client has not taken yet.
    public internal(set) var pendingToClient = 0
    /// Whether the connection has a tap the shell calls for ``Action/observe(_:count:)``.
    public internal(set) var tapped = false
    /// Whether the client has sent a byte.
    public internal(set) var clientSpoke = false
    public let timeouts: RelayTimeouts
    /// Candidate targets (attempts before giving up).
    public let targetCount: Int
    /// Send the last bytes before an end of stream with `MSG_MORE`, so that the FIN rides on the
    /// same segment.
    public let moreBeforeEndOfStream: Bool
    public let acceptedAt: NIODeadline
    /// The last byte or end of stream read or written.
    public internal(set) var lastActivity: NIODeadline
    /// When the first socket closed or failed; the drain deadline counts from it.
    public internal(set) var partnerGoneAt: NIODeadline?
    /// The time of the latest event (actions taken without one, closes, happen "now").
    public internal(set) var now: NIODeadline

    var scratch = Scratch.empty
    var awaiting: Awaiting?
    var readsLeft = RelayStateMachine.readsPerTurn
    var yielded = false
    var nextReadSide = RelaySide.client

    /// A connection just accepted at `now`.
    /// - Parameters:
    ///   - targetCount: candidate targets, tried in order (at least 1).
    ///   - moreBeforeEndOfStream: see ``moreBeforeEndOfStream``.
    public init(timeouts: RelayTimeouts, targetCount: Int, moreBeforeEndOfStream: Bool = false, now: NIODeadline) {
        self.timeouts = timeouts
        self.targetCount = max(1, targetCount)
        self.moreBeforeEndOfStream = moreBeforeEndOfStream
        self.acceptedAt = now
        self.lastActivity = now
        self.now = now
    }

    // MARK: - Access by side and direction

    public subscript(side: RelaySide) -> Socket {
        get { side == .client ? self.client : self.server }
        set {
            if side == .client { self.client = newValue } else { self.server = newValue }
        }
    }

    /// Bytes read in `direction` that its destination has not taken yet.
    public func pending(_ direction: RelayDirection) -> Int {
        direction == .clientToServer ? self.pendingToServer : self.pendingToClient
    }

    mutating func setPending(_ direction: RelayDirection, _ count: Int) {
        if direction == .clientToServer { self.pendingToServer = count } else { self.pendingToClient = count }
    }

    /// Whether both sockets are closed and the shell was told (``Action/finish``).
    public var isFinished: Bool { self.phase == .finished }
}
