#if os(Linux)
import CRelaySystem
import Glibc
import Logging
import NIOCore

extension RelayEventLoop {
    /// Carries out the actions of the connection in `index` until its state machine waits, then
    /// arms its deadline (or releases the slot once it finished).
    func drive(_ index: Int) {
        guard let record = self.slab.record(index) else { return }
        while let action = record.pointee.machine.nextAction() {
            if case .finish = action {
                self.finish(index, record)
                return
            }
            self.perform(action, index: index, record)
        }
        self.armDeadline(index, record)
    }

    private func armDeadline(_ index: Int, _ record: UnsafeMutablePointer<RelayConnectionRecord>) {
        guard let deadline = record.pointee.machine.deadline else {
            self.wheel.cancel(index)
            return
        }
        // A later deadline is looked at when the earlier one fires ("lazy re-arming").
        if let armed = self.wheel.deadline(index), armed <= deadline { return }
        self.wheel.schedule(index, at: deadline)
    }

    private func perform(
        _ action: RelayStateMachine.Action,
        index: Int,
        _ record: UnsafeMutablePointer<RelayConnectionRecord>
    ) {
        // `shared` is read only by the cases that use it: read here, it was retained and released
        // for every action (about seventeen per connection).
        switch action {
        case .admit:
            self.admit(index, record)
        case .connect(let attempt):
            self.connect(attempt: attempt, index: index, record)
        case .connectFailed(let attempt, let timedOut):
            guard attempt < record.pointee.candidates.count else { return }
            let shared = record.pointee.shared
            let target = record.pointee.candidates[attempt]
            shared.targetPool.recordFailure(target, now: self.now)
            let error = timedOut ? "no answer within the connect timeout" : Self.connectErrorText(record.pointee)
            shared.warnings.warning(
                .connectFailed(shared.targetPool.targets[target]),
                "target connect failed; trying the next target",
                logger: shared.logger,
                metadata: ["target": "\(shared.targetPool.targets[target])", "error": "\(error)"],
                now: self.now
            )
        case .established(let attempt):
            self.established(attempt: attempt, record)
        case .noTarget:
            let shared = record.pointee.shared
            shared.statistics.connectionWithoutTarget()
            shared.warnings.warning(
                .noTarget,
                "no target accepted the connection; closing the client connection",
                logger: shared.logger,
                now: self.now
            )
        case .timedOut(let reason):
            let shared = record.pointee.shared
            shared.statistics.timedOut(reason)
            shared.warnings.warning(
                .timedOut(reason),
                Self.timeoutMessage(reason),
                logger: shared.logger,
                metadata: [
                    "connection": "\(record.pointee.id)",
                    "peer": "\(record.pointee.peer.socketAddress?.displayText ?? "?")",
                ],
                now: self.now
            )
        case .read(let side):
            record.pointee.machine.readResult(
                side,
                self.read(record.fd(side), side: side, record),
                now: self.now
            )
        case .write(let side, let count, let more):
            self.write(side, count: count, more: more, record)
        case .stash(let direction, let count):
            self.stash(direction, UnsafeRawBufferPointer(rebasing: self.scratch[0..<count]), record)
        case .flush(let side, _, let more):
            self.flush(side, more: more, record)
        case .drop(let direction, let count):
            record.pointee.shared.statistics.bytesReleased(count)
            if let spill = Self.takeSpill(direction, record) { self.spills.give(spill) }
        case .observe(let direction, let count):
            self.tapCall(record) {
                try $0.observe(UnsafeRawBufferPointer(rebasing: self.scratch[0..<count]), direction: direction)
            }
        case .observeEnd(let direction):
            self.tapCall(record) { try $0.endOfStream(direction) }
        case .shutdownOutput(let side):
            let succeeded = shutdown(record.fd(side), Int32(SHUT_WR)) == 0
            record.pointee.machine.shutdownResult(side, succeeded: succeeded, now: self.now)
        case .collectError(let side):
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(record.fd(side), SOL_SOCKET, SO_ERROR, &error, &length)
            record.pointee.machine.errorCollected(side, hadError: error != 0, now: self.now)
        case .countError(let side):
            record.pointee.shared.statistics.connectionError(readingFrom: side.readDirection)
        case .close(let side):
            self.close(side, record)
        case .yield:
            if !record.pointee.queued {
                record.pointee.queued = true
                self.runQueue.append(index)
            }
        case .finish:
            break
        }
    }

    // MARK: - Admission and connect

    private func admit(_ index: Int, _ record: UnsafeMutablePointer<RelayConnectionRecord>) {
        let shared = record.pointee.shared
        let peer = record.pointee.peer
        let decision = shared.admission.admit(source: peer.ipAddress, peer: peer.socketAddress, now: self.now)
        guard case .admitted(let ticket) = decision else {
            record.pointee.machine.refused()
            return
        }
        record.pointee.ticket = ticket
        record.pointee.id = shared.connectionIDs.next()
        record.pointee.candidates = shared.targetPool.candidates(now: self.now)
        shared.statistics.connectionAccepted()
        shared.registry.opened()
        let tag = self.makeTag()
        if self.register(record.pointee.clientFD, index: index, side: .client, tag: tag) {
            record.pointee.clientTag = tag
        }
        record.pointee.machine.admitted()
    }

    private func connect(attempt: Int, index: Int, _ record: UnsafeMutablePointer<RelayConnectionRecord>) {
        let shared = record.pointee.shared
        guard attempt < record.pointee.candidates.count,
            let address = shared.address(ofTarget: record.pointee.candidates[attempt])
        else {
            record.pointee.connectError = EADDRNOTAVAIL
            record.pointee.machine.connectResult(.failed(socketOpened: false), now: self.now)
            return
        }
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            record.pointee.connectError = errno
            record.pointee.machine.connectResult(.failed(socketOpened: false), now: self.now)
            return
        }
        record.pointee.serverFD = fd
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if let size = shared.configuration.socketBufferSize {
            var value = Int32(clamping: size)
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &value, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, socklen_t(MemoryLayout<Int32>.size))
        }
        if shared.configuration.kernel.quickAckOffBeforeConnect {
            // The handshake's last ACK waits for the request and rides on it (HAProxy's
            // tcp-smart-connect).
            var zero: Int32 = 0
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_QUICKACK, &zero, socklen_t(MemoryLayout<Int32>.size))
        }
        let tag = self.makeTag()
        record.pointee.serverTag = tag
        let result = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        let code = result == 0 ? 0 : errno
        guard result == 0 || code == EINPROGRESS else {
            record.pointee.connectError = code
            record.pointee.machine.connectResult(.failed(socketOpened: true), now: self.now)
            return
        }
        guard self.register(fd, index: index, side: .server, tag: tag) else {
            record.pointee.connectError = errno
            record.pointee.machine.connectResult(.failed(socketOpened: true), now: self.now)
            return
        }
        record.pointee.machine.connectResult(result == 0 ? .connected : .inProgress, now: self.now)
    }

    private static func connectErrorText(_ record: RelayConnectionRecord) -> String {
        record.connectError == 0 ? "connection refused or unreachable" : SystemCallError.text(record.connectError)
    }

    private func established(attempt: Int, _ record: UnsafeMutablePointer<RelayConnectionRecord>) {
        let shared = record.pointee.shared
        let target = record.pointee.candidates[attempt]
        shared.targetPool.recordSuccess(target)
        if shared.logger.logLevel <= .debug {
            shared.logger.debug(
                "connection relayed",
                metadata: [
                    "connection": "\(record.pointee.id)",
                    "peer": "\(record.pointee.peer.socketAddress?.displayText ?? "?")",
                    "target": "\(shared.targetPool.targets[target])",
                ]
            )
        }
        guard let factory = shared.tapFactory else { return }
        let info = RelayConnectionInfo(
            id: record.pointee.id,
            listener: shared.configuration.name,
            client: record.pointee.peer,
            local: record.pointee.local,
            target: shared.targetPool.targets[target]
        )
        if let tap = factory.makeTap(for: info, on: self.tapLoop) {
            record.pointee.tap = tap
            record.pointee.machine.tapAttached()
        }
    }

    // MARK: - Bytes

    private func read(
        _ fd: Int32,
        side: RelaySide,
        _ record: UnsafeMutablePointer<RelayConnectionRecord>
    ) -> RelayStateMachine.ReadResult {
        while true {
            let count = Glibc.read(fd, self.scratch.baseAddress, self.scratch.count)
            if count > 0 { return .bytes(count, short: count < self.scratch.count) }
            if count == 0 { return .endOfStream }
            switch errno {
            case EINTR: continue
            case EAGAIN: return .wouldBlock
            default:
                let shared = record.pointee.shared
                if shared.logger.logLevel <= .debug {
                    shared.logger.debug(
                        "\(side) side error",
                        metadata: ["connection": "\(record.pointee.id)", "error": "\(SystemCallError.text(errno))"]
                    )
                }
                return .failed
            }
        }
    }

    /// Sends `bytes`; returns the count the kernel took (0 when it would block), `nil` on an error.
    private func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, more: Bool) -> Int? {
        let flags = Int32(MSG_NOSIGNAL) | (more ? Int32(MSG_MORE) : 0)
        while true {
            let count = Glibc.send(fd, bytes.baseAddress, bytes.count, flags)
            if count >= 0 { return count }
            switch errno {
            case EINTR: continue
            case EAGAIN: return 0
            default: return nil
            }
        }
    }

    private func write(_ side: RelaySide, count: Int, more: Bool, _ record: UnsafeMutablePointer<RelayConnectionRecord>)
    {
        let bytes = UnsafeRawBufferPointer(rebasing: self.scratch[0..<count])
        let direction = side.other.readDirection
        let statistics = record.pointee.shared.statistics
        // In flight from the read until the kernel took them (at once, usually).
        statistics.bytesHeld(count)
        guard let written = self.send(record.fd(side), bytes, more: more) else {
            statistics.bytesReleased(count)
            record.pointee.machine.writeResult(side, .failed, now: self.now)
            return
        }
        statistics.bytesDelivered(written, direction: direction)
        statistics.bytesReleased(written)
        if written < count {
            self.spill(direction, UnsafeRawBufferPointer(rebasing: bytes[written...]), record)
        }
        record.pointee.machine.writeResult(side, .written(written), now: self.now)
    }

    private func stash(
        _ direction: RelayDirection,
        _ bytes: UnsafeRawBufferPointer,
        _ record: UnsafeMutablePointer<RelayConnectionRecord>
    ) {
        record.pointee.shared.statistics.bytesHeld(bytes.count)
        self.spill(direction, bytes, record)
    }

    /// Keeps `bytes` (already counted as held) in the direction's spill buffer.
    private func spill(
        _ direction: RelayDirection,
        _ bytes: UnsafeRawBufferPointer,
        _ record: UnsafeMutablePointer<RelayConnectionRecord>
    ) {
        let spill = self.spills.take(copying: bytes)
        if direction == .clientToServer {
            record.pointee.spillToServer = spill
        } else {
            record.pointee.spillToClient = spill
        }
    }

    private func flush(_ side: RelaySide, more: Bool, _ record: UnsafeMutablePointer<RelayConnectionRecord>) {
        let direction = side.other.readDirection
        guard var spill = Self.takeSpill(direction, record) else {
            record.pointee.machine.writeResult(side, .written(0), now: self.now)
            return
        }
        guard let written = self.send(record.fd(side), spill.bytes, more: more) else {
            Self.putSpill(spill, direction, record)
            record.pointee.machine.writeResult(side, .failed, now: self.now)
            return
        }
        let statistics = record.pointee.shared.statistics
        statistics.bytesDelivered(written, direction: direction)
        statistics.bytesReleased(written)
        spill.start += written
        if spill.count == 0 {
            self.spills.give(spill)
        } else {
            Self.putSpill(spill, direction, record)
        }
        record.pointee.machine.writeResult(side, .written(written), now: self.now)
    }

    private static func takeSpill(
        _ direction: RelayDirection,
        _ record: UnsafeMutablePointer<RelayConnectionRecord>
    ) -> SpillBuffer? {
        if direction == .clientToServer {
            defer { record.pointee.spillToServer = nil }
            return record.pointee.spillToServer
        }
        defer { record.pointee.spillToClient = nil }
        return record.pointee.spillToClient
    }

    private static func putSpill(
        _ spill: SpillBuffer,
        _ direction: RelayDirection,
        _ record: UnsafeMutablePointer<RelayConnectionRecord>
    ) {
        if direction == .clientToServer {
            record.pointee.spillToServer = spill
        } else {
            record.pointee.spillToClient = spill
        }
    }

    // MARK: - Tap

    /// Calls the tap; one that throws is told the connection closed, detached and counted.
    private func tapCall(
        _ record: UnsafeMutablePointer<RelayConnectionRecord>,
        _ body: (any RelayConnectionTap) throws -> Void
    ) {
        guard let tap = record.pointee.tap else { return }
        do {
            try body(tap)
        } catch {
            let shared = record.pointee.shared
            shared.statistics.tapFailed()
            shared.warnings.warning(
                .tapFailed,
                "tap failed; this connection is still relayed but no longer observed",
                logger: shared.logger,
                metadata: ["connection": "\(record.pointee.id)", "error": "\(error)"],
                now: self.now
            )
            tap.connectionClosed()
            record.pointee.tap = nil
            record.pointee.machine.tapDetached()
        }
    }

    // MARK: - Closing

    private func close(_ side: RelaySide, _ record: UnsafeMutablePointer<RelayConnectionRecord>) {
        let fd = record.fd(side)
        if fd >= 0 { Glibc.close(fd) }
        if side == .client {
            record.pointee.clientFD = -1
            record.pointee.clientTag = 0
        } else {
            record.pointee.serverFD = -1
            record.pointee.serverTag = 0
        }
    }

    private func finish(_ index: Int, _ record: UnsafeMutablePointer<RelayConnectionRecord>) {
        let shared = record.pointee.shared
        for direction in RelayDirection.allCases {
            if let spill = Self.takeSpill(direction, record) {
                shared.statistics.bytesReleased(spill.count)
                self.spills.give(spill)
            }
        }
        if let tap = record.pointee.tap {
            record.pointee.tap = nil
            tap.connectionClosed()
        }
        // At debug level each connection has two lines, as with the NIO relay: when it was relayed
        // (connected to its target) and when it ended.
        if shared.logger.logLevel <= .debug {
            shared.logger.debug("connection closed", metadata: ["connection": "\(record.pointee.id)"])
        }
        if let ticket = record.pointee.ticket {
            shared.admission.release(ticket)
            shared.statistics.connectionClosed()
            shared.registry.closed()
        }
        self.wheel.cancel(index)
        self.slab.remove(index)
    }

    private static func timeoutMessage(_ reason: RelayTimeout) -> Logger.Message {
        switch reason {
        case .idle: return "closing idle connection: no bytes in either direction for the idle timeout"
        case .firstByte: return "closing a connection whose client sent nothing within the first-byte timeout"
        case .drain: return "peer did not take the remaining bytes within the drain timeout; closing"
        case .clientFin:
            return
                "closing a connection whose client neither sent nor closed within the client FIN timeout after the server finished"
        case .serverReply:
            return
                "closing a connection whose server sent nothing within the server reply timeout after the client finished"
        }
    }
}
#endif
