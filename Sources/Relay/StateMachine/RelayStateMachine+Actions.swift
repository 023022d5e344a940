import NIOCore

extension RelayStateMachine {
    /// What the shell does next.
    public enum Action: Sendable, Hashable {
        /// Ask the listener's admission; report ``RelayStateMachine/admitted()`` or
        /// ``RelayStateMachine/refused()``.
        case admit
        /// Open a socket to the `attempt`-th candidate target and connect it; report
        /// ``RelayStateMachine/connectResult(_:now:)``.
        case connect(attempt: Int)
        /// The `attempt`-th candidate failed (refused, unreachable, or no answer within the
        /// connect timeout): record it against the target (it cools down) and warn.
        case connectFailed(attempt: Int, timedOut: Bool)
        /// The `attempt`-th candidate is connected: record it, attach the tap.
        case established(attempt: Int)
        /// No candidate target could be connected: count it and warn; the client is closed next.
        case noTarget
        /// A deadline closes the connection: count it and warn; the sockets are closed next.
        case timedOut(RelayTimeout)
        /// Read from the socket into the scratch buffer; report
        /// ``RelayStateMachine/readResult(_:_:now:)``.
        case read(RelaySide)
        /// Send the `count` scratch bytes to the socket (with `MSG_MORE` when `more`: its end of
        /// stream follows at once); keep what it does not take in the spill buffer of the
        /// direction into this socket; report ``RelayStateMachine/writeResult(_:_:now:)``.
        case write(RelaySide, count: Int, more: Bool)
        /// The socket cannot take bytes now: keep the `count` scratch bytes in the direction's
        /// spill buffer. No result.
        case stash(RelayDirection, count: Int)
        /// Send the `count` spilled bytes to the socket; report
        /// ``RelayStateMachine/writeResult(_:_:now:)``.
        case flush(RelaySide, count: Int, more: Bool)
        /// The `count` spilled bytes of the direction will never be delivered: free them.
        case drop(RelayDirection, count: Int)
        /// Show the tap the `count` bytes of the direction still in the scratch buffer.
        case observe(RelayDirection, count: Int)
        /// Tell the tap the direction ended.
        case observeEnd(RelayDirection)
        /// `shutdown(SHUT_WR)`; report ``RelayStateMachine/shutdownResult(_:succeeded:now:)``.
        case shutdownOutput(RelaySide)
        /// `getsockopt(SO_ERROR)`; report ``RelayStateMachine/errorCollected(_:hadError:now:)``.
        case collectError(RelaySide)
        /// Count a socket error on this side (once per socket).
        case countError(RelaySide)
        /// Close the socket's descriptor.
        case close(RelaySide)
        /// More to do, but other connections get a turn first: call
        /// ``RelayStateMachine/resume()`` and ask again later.
        case yield
        /// Both sockets are closed: release the connection (admission, tap, slot).
        case finish
    }

    /// The next thing to do, or `nil` when the connection waits for readiness, a result or its
    /// deadline.
    public mutating func nextAction() -> Action? {
        guard self.awaiting == nil else { return nil }
        switch self.phase {
        case .admitting:
            self.awaiting = .admission
            return .admit
        case .connecting(let connecting):
            return self.connectingAction(connecting)
        case .relaying:
            return self.relayingAction()
        case .closing(let closing):
            return self.closingAction(closing)
        case .finished:
            return nil
        }
    }

    // MARK: - Connecting

    private mutating func connectingAction(_ connecting: Connecting) -> Action? {
        switch connecting {
        case .next(let attempt):
            self.awaiting = .connect
            return .connect(attempt: attempt)
        case .inProgress:
            return nil
        case .failed(let attempt, let timedOut, let reported):
            if !reported {
                self.phase = .connecting(.failed(attempt: attempt, timedOut: timedOut, reported: true))
                return .connectFailed(attempt: attempt, timedOut: timedOut)
            }
            if self.server.isOpen {
                self.server.descriptor = .closed
                return .close(.server)
            }
            self.server = Socket(descriptor: .absent)
            if attempt + 1 < self.targetCount {
                self.phase = .connecting(.next(attempt: attempt + 1))
                self.awaiting = .connect
                return .connect(attempt: attempt + 1)
            }
            self.phase = .closing(.noTarget(reported: false))
            return self.nextAction()
        case .established(let attempt):
            self.phase = .relaying
            return .established(attempt: attempt)
        }
    }

    // MARK: - Closing without relaying

    private mutating func closingAction(_ closing: Closing) -> Action? {
        switch closing {
        case .noTarget(reported: false):
            self.phase = .closing(.noTarget(reported: true))
            return .noTarget
        case .timedOut(let reason, reported: false):
            self.phase = .closing(.timedOut(reason, reported: true))
            return .timedOut(reason)
        default:
            break
        }
        for direction in RelayDirection.allCases where self.pending(direction) > 0 {
            let count = self.pending(direction)
            self.setPending(direction, 0)
            return .drop(direction, count: count)
        }
        if let action = self.reportErrorIfNeeded() { return action }
        for side in RelaySide.allCases where self[side].isOpen {
            if let action = self.observeEndIfNeeded(side) { return action }
            self[side].descriptor = .closed
            return .close(side)
        }
        return self.finish()
    }

    private mutating func finish() -> Action {
        self.phase = .finished
        return .finish
    }

    // MARK: - Relaying

    private mutating func relayingAction() -> Action? {
        if let action = self.scratchAction() { return action }
        if let action = self.reportErrorIfNeeded() { return action }
        for direction in RelayDirection.allCases {
            if let action = self.dropIfUndeliverable(direction) { return action }
        }
        for side in RelaySide.allCases {
            if let action = self.observeEndIfNeeded(side) { return action }
        }
        for direction in RelayDirection.allCases {
            if let action = self.flushIfPossible(direction) { return action }
        }
        for side in RelaySide.allCases {
            if let action = self.collectErrorIfNeeded(side) { return action }
        }
        for direction in RelayDirection.allCases {
            if let action = self.passEndOfStreamIfDue(direction) { return action }
        }
        for side in RelaySide.allCases {
            if let action = self.closeIfDone(side) { return action }
        }
        if let action = self.readIfPossible() { return action }
        if !self.client.isOpen && !self.server.isOpen { return self.finish() }
        return nil
    }

    /// Bytes just read go to the destination (or its spill buffer), then to the tap.
    private mutating func scratchAction() -> Action? {
        switch self.scratch {
        case .empty:
            return nil
        case .read(let direction, let count):
            let destination = direction.destination
            guard self[destination].isOpen, self[destination].output == .open else {
                // Nothing can take them any more; the tap sees what was relayed only.
                self.scratch = .empty
                return nil
            }
            if self[destination].writable {
                self.awaiting = .write(direction, count: count)
                return .write(destination, count: count, more: self.endOfStreamFollows(direction))
            }
            self.setPending(direction, count)
            self.scratch = .written(direction, count: count)
            return .stash(direction, count: count)
        case .written(let direction, let count):
            self.scratch = .empty
            return self.tapped ? .observe(direction, count: count) : nil
        }
    }

    /// Whether the bytes about to be written in `direction` are its last and its end of stream
    /// follows at once (they may then share a segment with the FIN).
    private func endOfStreamFollows(_ direction: RelayDirection) -> Bool {
        self.moreBeforeEndOfStream && self[direction.source].input != .open
    }

    private mutating func reportErrorIfNeeded() -> Action? {
        for side in RelaySide.allCases where self[side].errorToReport {
            self[side].errorToReport = false
            return .countError(side)
        }
        return nil
    }

    private mutating func dropIfUndeliverable(_ direction: RelayDirection) -> Action? {
        let count = self.pending(direction)
        let destination = self[direction.destination]
        guard count > 0, !destination.isOpen || destination.output == .failed else { return nil }
        self.setPending(direction, 0)
        return .drop(direction, count: count)
    }

    private mutating func observeEndIfNeeded(_ side: RelaySide) -> Action? {
        guard self[side].descriptor != .absent, !self[side].endObserved,
            self[side].input != .open || !self[side].isOpen || self.isClosingPhase
        else { return nil }
        self[side].endObserved = true
        return self.tapped ? .observeEnd(side.readDirection) : nil
    }

    private var isClosingPhase: Bool {
        if case .closing = self.phase { return true }
        return false
    }

    private mutating func flushIfPossible(_ direction: RelayDirection) -> Action? {
        let count = self.pending(direction)
        let destination = direction.destination
        guard count > 0, self[destination].isOpen, self[destination].output == .open, self[destination].writable
        else { return nil }
        self.awaiting = .flush(direction)
        return .flush(destination, count: count, more: self.endOfStreamFollows(direction))
    }

    /// An error edge is collected (`SO_ERROR`) when no read will surface it soon: the input has
    /// ended, or it is not read while its bytes wait for the other side (a peer that reset while
    /// the other side does not read is then known at once, and the drain deadline starts).
    private mutating func collectErrorIfNeeded(_ side: RelaySide) -> Action? {
        let socket = self[side]
        guard socket.isOpen, socket.errorPending,
            socket.input != .open || self.pending(side.readDirection) > 0
        else { return nil }
        if socket.errorCounted {
            self[side].errorPending = false
            return nil
        }
        self.awaiting = .collectError(side)
        return .collectError(side)
    }

    /// The source's input is over and everything read from it was delivered: pass the end of
    /// stream on (close instead of shutdown when the destination's own input is over too).
    private mutating func passEndOfStreamIfDue(_ direction: RelayDirection) -> Action? {
        let destination = direction.destination
        guard self[direction.source].input != .open, self.pending(direction) == 0,
            self[destination].isOpen, self[destination].output == .open
        else { return nil }
        if self[destination].input != .open {
            return self.close(destination)
        }
        self[destination].output = .shut
        self.awaiting = .shutdown(destination)
        return .shutdownOutput(destination)
    }

    /// A socket whose input and output are both over is closed (a failed input ends the output too).
    private mutating func closeIfDone(_ side: RelaySide) -> Action? {
        let socket = self[side]
        guard socket.isOpen, socket.input != .open else { return nil }
        if socket.input == .failed || socket.output != .open {
            return self.close(side)
        }
        return nil
    }

    private mutating func close(_ side: RelaySide) -> Action {
        if self[side].output == .open { self[side].output = .shut }
        self[side].descriptor = .closed
        if self.partnerGoneAt == nil { self.partnerGoneAt = self.now }
        return .close(side)
    }

    /// Reads the next socket that may be read: one with readiness whose bytes have somewhere to
    /// go and nothing pending (or whose partner is gone: then it is read only to reach its end of
    /// stream, and the bytes are discarded).
    private mutating func readIfPossible() -> Action? {
        var wouldRead = false
        for side in [self.nextReadSide, self.nextReadSide.other] {
            let socket = self[side]
            guard socket.isOpen, socket.input == .open, socket.readable else { continue }
            let destination = self[side.other]
            let forwards = destination.isOpen && destination.output == .open
            if forwards && self.pending(side.readDirection) > 0 { continue }
            wouldRead = true
            guard self.readsLeft > 0 else { continue }
            self.readsLeft -= 1
            self.nextReadSide = side.other
            self.awaiting = .read(side, discard: !forwards)
            return .read(side)
        }
        if wouldRead && !self.yielded {
            self.yielded = true
            return .yield
        }
        return nil
    }
}
