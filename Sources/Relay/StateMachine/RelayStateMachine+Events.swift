import NIOCore

/// Readiness of one socket as `epoll` reported it.
public struct RelayReadiness: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// `EPOLLIN`
    public static let readable = RelayReadiness(rawValue: 1 << 0)
    /// `EPOLLOUT`
    public static let writable = RelayReadiness(rawValue: 1 << 1)
    /// `EPOLLRDHUP`: the peer's FIN arrived.
    public static let peerClosed = RelayReadiness(rawValue: 1 << 2)
    /// `EPOLLERR`
    public static let error = RelayReadiness(rawValue: 1 << 3)
    /// `EPOLLHUP`
    public static let hangup = RelayReadiness(rawValue: 1 << 4)
}

extension RelayStateMachine {
    /// What a connect attempt (``Action/connect(attempt:)``) did at once.
    public enum ConnectResult: Sendable, Hashable {
        /// A socket is open and connecting; readiness tells how it ends.
        case inProgress
        /// A socket is open and connected already.
        case connected
        /// The attempt failed; `socketOpened` when a descriptor was opened (and must be closed).
        case failed(socketOpened: Bool)
    }

    /// What a read (``Action/read(_:)``) returned.
    public enum ReadResult: Sendable, Hashable {
        /// `count` > 0 bytes, into the scratch buffer; `short` when fewer than it holds (the
        /// socket is drained for now).
        case bytes(Int, short: Bool)
        case endOfStream
        case wouldBlock
        /// A read error (reset): the socket's input is over.
        case failed
    }

    /// What a write (``Action/write(_:count:more:)``, ``Action/flush(_:count:more:)``) did.
    public enum WriteResult: Sendable, Hashable {
        /// The kernel took this many bytes (0 when it would block); the shell keeps the rest of
        /// a scratch write in the direction's spill buffer.
        case written(Int)
        /// A write error (reset, broken pipe): nothing more can be sent to this socket.
        case failed
    }

    // MARK: - Admission and connect

    /// The listener admits the connection.
    public mutating func admitted() {
        guard case .admission = self.awaiting else { return }
        self.awaiting = nil
        self.phase = .connecting(.next(attempt: 0))
    }

    /// The listener refuses the connection: the client is closed, nothing else happens.
    public mutating func refused() {
        guard case .admission = self.awaiting else { return }
        self.awaiting = nil
        self.phase = .closing(.refused)
    }

    /// The result of ``Action/connect(attempt:)``.
    public mutating func connectResult(_ result: ConnectResult, now: NIODeadline) {
        guard case .connect = self.awaiting, case .connecting(.next(let attempt)) = self.phase else { return }
        self.awaiting = nil
        self.now = now
        switch result {
        case .inProgress:
            self.server = Socket(descriptor: .open)
            self.phase = .connecting(.inProgress(attempt: attempt, since: now))
        case .connected:
            self.server = Socket(descriptor: .open)
            self.server.writable = true
            self.phase = .connecting(.established(attempt: attempt))
        case .failed(let opened):
            self.server = Socket(descriptor: opened ? .open : .absent)
            self.phase = .connecting(.failed(attempt: attempt, timedOut: false, reported: false))
        }
    }

    // MARK: - Readiness

    /// `epoll` reported `events` on `side`'s socket.
    public mutating func ready(_ side: RelaySide, _ events: RelayReadiness, now: NIODeadline) {
        self.now = now
        guard self[side].isOpen else { return }
        if side == .server, case .connecting(.inProgress(let attempt, _)) = self.phase {
            if events.contains(.error) || events.contains(.hangup) {
                self.phase = .connecting(.failed(attempt: attempt, timedOut: false, reported: false))
                return
            }
            guard events.contains(.writable) else { return }
            self.phase = .connecting(.established(attempt: attempt))
        }
        var socket = self[side]
        if events.contains(.readable) { socket.readable = true }
        if events.contains(.writable) { socket.writable = true }
        if events.contains(.peerClosed) { socket.peerClosed = true }
        if events.contains(.error) { socket.errorPending = true }
        if events.contains(.error) || events.contains(.hangup) {
            // The next read or write reports what happened (queued bytes first).
            socket.readable = true
            socket.writable = true
        }
        self[side] = socket
        self.readsLeft = Self.readsPerTurn
        self.yielded = false
    }

    /// A connection that yielded (``Action/yield``) gets another turn.
    public mutating func resume() {
        self.readsLeft = Self.readsPerTurn
        self.yielded = false
    }

    // MARK: - Results of I/O

    /// The result of ``Action/read(_:)``.
    public mutating func readResult(_ side: RelaySide, _ result: ReadResult, now: NIODeadline) {
        guard case .read(side, let discard) = self.awaiting else { return }
        self.awaiting = nil
        self.now = now
        var socket = self[side]
        switch result {
        case .bytes(let count, let short):
            // Bytes that have nowhere to go any more are no sign of life: a client trickling
            // into a departed server does not keep the connection.
            if !discard {
                self.lastActivity = now
                if side == .client { self.clientSpoke = true }
                self.scratch = .read(side.readDirection, count: count)
            }
            if short {
                // Drained for now; but after an error edge the next read reports the error, and
                // no new edge would come for it.
                if !socket.errorPending { socket.readable = false }
                // The peer's FIN is in and the queue is drained: this was the last of the bytes.
                if socket.peerClosed { socket.input = .ended }
            }
        case .endOfStream:
            self.lastActivity = now
            socket.readable = false
            socket.input = .ended
        case .wouldBlock:
            socket.readable = false
        case .failed:
            socket.readable = false
            socket.input = .failed
            if socket.output == .open { socket.output = .failed }
            self.socketFailed(&socket, now: now)
        }
        self[side] = socket
    }

    /// The result of ``Action/write(_:count:more:)`` or ``Action/flush(_:count:more:)``.
    public mutating func writeResult(_ side: RelaySide, _ result: WriteResult, now: NIODeadline) {
        let direction = side.other.readDirection
        self.now = now
        switch self.awaiting {
        case .write(direction, let count):
            // Nothing was pending: a socket is read only once its bytes have gone out.
            self.awaiting = nil
            self.scratch = .written(direction, count: count)
            self.offered(count, in: direction, to: side, took: result, now: now)
        case .flush(direction):
            self.awaiting = nil
            self.offered(self.pending(direction), in: direction, to: side, took: result, now: now)
        default:
            return
        }
    }

    /// `side` was offered `count` bytes of `direction` (fresh from a read, or its spill) and took
    /// `result`: what it did not take is pending (in the shell's spill buffer), and it is not
    /// written to again before its next writable edge. The same rule for both kinds of write.
    private mutating func offered(
        _ count: Int,
        in direction: RelayDirection,
        to side: RelaySide,
        took result: WriteResult,
        now: NIODeadline
    ) {
        switch result {
        case .written(let written):
            let written = min(max(written, 0), count)
            if written > 0 { self.lastActivity = now }
            self.setPending(direction, count - written)
            if written < count { self[side].writable = false }
        case .failed:
            self.outputFailed(side, now: now)
        }
    }

    /// The result of ``Action/shutdownOutput(_:)``.
    public mutating func shutdownResult(_ side: RelaySide, succeeded: Bool, now: NIODeadline) {
        guard case .shutdown(side) = self.awaiting else { return }
        self.awaiting = nil
        self.now = now
        if succeeded {
            self.lastActivity = now
        } else {
            self.outputFailed(side, now: now)
        }
    }

    /// The result of ``Action/collectError(_:)``: whether the socket had an error.
    public mutating func errorCollected(_ side: RelaySide, hadError: Bool, now: NIODeadline) {
        guard case .collectError(side) = self.awaiting else { return }
        self.awaiting = nil
        self.now = now
        var socket = self[side]
        socket.errorPending = false
        if hadError {
            if socket.output == .open { socket.output = .failed }
            self.socketFailed(&socket, now: now)
        }
        self[side] = socket
    }

    private mutating func outputFailed(_ side: RelaySide, now: NIODeadline) {
        var socket = self[side]
        socket.writable = false
        socket.output = .failed
        self.socketFailed(&socket, now: now)
        self[side] = socket
    }

    /// A socket error: counted once per socket; the drain deadline of the partner starts. A
    /// failed connection sends nothing more: what is still queued is read, then the end of stream
    /// (a short read is the last one).
    private mutating func socketFailed(_ socket: inout Socket, now: NIODeadline) {
        socket.peerClosed = true
        if !socket.errorCounted {
            socket.errorCounted = true
            socket.errorToReport = true
        }
        if self.partnerGoneAt == nil { self.partnerGoneAt = now }
    }

    // MARK: - Tap, deadlines, outside requests

    /// The shell attached a tap (after ``Action/established(attempt:)``).
    public mutating func tapAttached() { self.tapped = true }

    /// The tap threw and was detached: it sees nothing more.
    public mutating func tapDetached() { self.tapped = false }

    /// Close the connection now (shutdown, `closeAllConnections`): what is pending is dropped.
    public mutating func closeRequested() {
        switch self.phase {
        case .finished, .closing: return
        default:
            self.awaiting = nil
            self.scratch = .empty
            self.phase = .closing(.requested)
        }
    }

    /// The shell's timer for ``deadline`` fired (possibly late or early): whatever deadline has
    /// passed by `now` takes effect; if none has, ``deadline`` tells when to look again.
    public mutating func timerFired(now: NIODeadline) {
        self.now = now
        switch self.phase {
        case .connecting(.inProgress(let attempt, let since)):
            if since + self.timeouts.connect <= now {
                self.phase = .connecting(.failed(attempt: attempt, timedOut: true, reported: false))
            }
        case .relaying:
            if let earliest = self.relayDeadline(), earliest.deadline <= now {
                self.awaiting = nil
                self.scratch = .empty
                self.phase = .closing(.timedOut(earliest.reason, reported: false))
            }
        default:
            return
        }
    }

    /// When the shell should call ``timerFired(now:)`` next; `nil`: no deadline.
    public var deadline: NIODeadline? {
        switch self.phase {
        case .connecting(.inProgress(_, let since)): return since + self.timeouts.connect
        case .relaying: return self.relayDeadline()?.deadline
        default: return nil
        }
    }

    /// The earliest deadline of the relaying phase and what it is for.
    func relayDeadline() -> (deadline: NIODeadline, reason: RelayTimeout)? {
        var earliest = (deadline: self.lastActivity + self.timeouts.idle, reason: RelayTimeout.idle)
        func consider(_ deadline: NIODeadline, _ reason: RelayTimeout) {
            if deadline < earliest.deadline { earliest = (deadline, reason) }
        }
        if !self.clientSpoke { consider(self.acceptedAt + self.timeouts.firstByte, .firstByte) }
        if let gone = self.partnerGoneAt { consider(gone + self.timeouts.drain, .drain) }
        // A socket whose output was shut while its input is still open: its peer is awaited.
        for side in RelaySide.allCases
        where self[side].isOpen && self[side].output == .shut && self[side].input == .open {
            let (allowed, reason) = self.timeouts.awaitingEndOfStream(from: side)
            consider(self.lastActivity + allowed, reason)
        }
        return earliest
    }
}
