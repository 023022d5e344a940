import NIOCore
import Relay

/// Where a ``RelaySimulation`` takes its decisions from: a seeded generator in the property
/// tests, the fuzzer's input bytes in `FuzzRelayStateMachine`.
public protocol RelayChoices {
    /// A number in `0..<bound` (`bound` ≥ 1).
    mutating func next(_ bound: Int) -> Int
}

/// One ``RelayStateMachine`` between two simulated peers and the kernel sockets to them, with a
/// shell that executes its actions the way the epoll loop does (scratch buffer, spill buffers,
/// tap), driven through random interleavings of data, end of stream, resets, consumption,
/// connect outcomes and time, and checked against the relay's promises after every step:
///
/// - **byte identity**: what a peer received is always a prefix of what the other peer sent, and
///   the tap saw exactly the bytes read and forwarded, in order;
/// - **end of stream after the bytes before it**: a FIN (shutdown or close) is passed on only
///   once everything read from the source was handed to the destination's socket;
/// - **backpressure**: a socket is never read (for forwarding) while bytes read from it wait for
///   the other side; a direction never holds more than one read batch;
/// - **descriptors**: every descriptor opened is closed exactly once, never used after its
///   close; nothing is closed with unread bytes unless the connection was cut (a deadline, a
///   reset, a close requested from outside);
/// - **liveness**: once both peers finish cleanly the connection finishes without any deadline;
///   whatever happened, once time passes every deadline it finishes, and nothing stays in flight.
public struct RelaySimulation {
    /// A simulated peer and the relay's kernel socket to it.
    struct Peer {
        /// Everything the peer sent, in order; `readOffset`: how much of it the relay has read.
        var sent: [UInt8] = []
        var readOffset = 0
        /// The peer shut its output (FIN after `sent`).
        var sentFIN = false
        /// The peer reset the connection (or its kernel did, receiving bytes after it closed).
        var reset = false
        /// The peer closed its socket entirely: bytes arriving after this make its kernel reset.
        var closedEntirely = false
        /// Bytes the relay wrote that the peer has not consumed yet (the kernel's buffers).
        var inTransit: [UInt8] = []
        /// What the peer consumed.
        var received: [UInt8] = []
        /// The relay's FIN is queued behind `inTransit` / has been seen by the peer.
        var finQueued = false
        var receivedFIN = false
        /// The kernel's buffer space for bytes to the peer.
        var capacity: Int
        /// The relay's socket: descriptor number (0: none), closes seen, shutdown done.
        var descriptor = 0
        var outputShut = false
        /// The relay was blocked writing (so space freed later is an edge).
        var writeBlocked = false

        var unread: Int { self.sent.count - self.readOffset }
    }

    public private(set) var machine: RelayStateMachine
    var client: Peer
    var server: Peer
    var now: NIODeadline
    let scratchSize: Int
    var scratch: [UInt8] = []
    var scratchCount = 0
    /// Spill buffers, by direction.
    var spillToServer: [UInt8] = []
    var spillToClient: [UInt8] = []
    /// What the tap saw, by direction, and the ends it was told.
    var tapToServer: [UInt8] = []
    var tapToClient: [UInt8] = []
    var tapEnds: Set<RelayDirection> = []
    /// Bytes read for forwarding and bytes handed to the destination's kernel, by direction.
    var forwardedRead: [RelayDirection: Int] = [:]
    var handed: [RelayDirection: Int] = [:]
    var nextDescriptor = 1
    var closes: [Int: Int] = [:]
    var errorsCounted: [Int: Int] = [:]
    /// Connect attempts: how each should end when the simulation decides (`nil`: pending).
    var connecting = false
    var connectAttempts = 0
    var yielded = false
    /// Whether the connection was cut (deadline, reset, refusal, no target, close requested).
    public private(set) var cut = false
    public private(set) var timeoutsFired: [RelayTimeout] = []
    public private(set) var finished = false
    public private(set) var violations: [String] = []
    public private(set) var steps = 0
    let refuseAdmission: Bool
    let failingTargets: Int
    /// Whether time passes (and outside close requests come) during the random steps; without,
    /// nothing can cut the connection before the peers finish, so a connection stuck with work
    /// it could do is caught instead of being closed by a deadline.
    let timeMoves: Bool

    /// - Parameters:
    ///   - targetCount: candidates; the first `failingTargets` of them fail (refuse or time out).
    public init(
        timeouts: RelayTimeouts = RelayTimeouts(
            connect: .seconds(5),
            firstByte: .seconds(30),
            idle: .seconds(900),
            drain: .seconds(30),
            clientFin: .seconds(10),
            serverReply: .seconds(620)
        ),
        targetCount: Int = 1,
        failingTargets: Int = 0,
        refuseAdmission: Bool = false,
        scratchSize: Int = 64,
        clientCapacity: Int = 48,
        serverCapacity: Int = 48,
        moreBeforeEndOfStream: Bool = true,
        timeMoves: Bool = true
    ) {
        self.timeMoves = timeMoves
        self.now = NIODeadline.uptimeNanoseconds(1_000_000_000)
        self.machine = RelayStateMachine(
            timeouts: timeouts,
            targetCount: targetCount,
            moreBeforeEndOfStream: moreBeforeEndOfStream,
            now: self.now
        )
        self.scratchSize = scratchSize
        self.scratch = Array(repeating: 0, count: scratchSize)
        self.client = Peer(capacity: max(1, clientCapacity))
        self.server = Peer(capacity: max(1, serverCapacity))
        self.refuseAdmission = refuseAdmission
        self.failingTargets = failingTargets
        self.client.descriptor = self.open()
    }

    // MARK: - Running

    /// Runs `steps` random steps, then lets both peers finish and time pass every deadline;
    /// returns the violations found (none: every promise held).
    public static func run(
        _ simulation: RelaySimulation,
        steps: Int,
        choices: inout some RelayChoices
    ) -> RelaySimulation {
        var simulation = simulation
        // Registered with epoll: a socket that can take bytes reports it at once.
        simulation.deliver(.client, [.writable])
        simulation.pump()
        for _ in 0..<steps {
            guard !simulation.finished, simulation.violations.isEmpty else { break }
            simulation.step(&choices)
        }
        simulation.settle()
        return simulation
    }

    /// One random event.
    mutating func step(_ choices: inout some RelayChoices) {
        self.steps += 1
        let side: RelaySide = choices.next(2) == 0 ? .client : .server
        switch choices.next(12) {
        case 0, 1, 2: self.peerSends(side, count: 1 + choices.next(3 * self.scratchSize))
        case 3, 4, 5: self.peerConsumes(side, count: 1 + choices.next(2 * self.scratchSize))
        case 6: self.peerShutsOutput(side)
        case 7: if choices.next(2) == 0 { self.peerResets(side) } else { self.peerClosesEntirely(side) }
        case 8: self.connectOutcome(succeeds: self.connectAttempts > self.failingTargets || choices.next(8) == 0)
        case 9 where self.timeMoves:
            // Mostly moments, sometimes long enough for a deadline.
            let limit = choices.next(8) == 0 ? 12_000 : 200
            self.advance(by: .milliseconds(Int64(choices.next(limit))))
        case 10 where self.timeMoves:
            if choices.next(16) == 0 { self.closeRequested() } else { self.advance(by: .milliseconds(1)) }
        default: self.resumeIfYielded()
        }
        self.pump()
        self.checkInvariants()
    }

    /// Both peers behave from now on: connects succeed, everything sent is consumed, both end
    /// their streams. A connection nobody cut must finish without a deadline; then time passes
    /// every deadline and whatever is left must finish too.
    mutating func settle() {
        var rounds = 0
        let uncutBefore = !self.cut
        while !self.finished && rounds < 10_000 && self.violations.isEmpty {
            rounds += 1
            let before = self.progressMark
            self.connectOutcome(succeeds: true)
            self.pump()
            for side in RelaySide.allCases {
                self.peerConsumes(side, count: Int.max)
                if !self.peer(side).reset && !self.peer(side).sentFIN && self.peer(side).descriptor != 0
                    && self.machine.phase == .relaying
                {
                    self.peerShutsOutput(side)
                }
            }
            self.resumeIfYielded()
            self.pump()
            self.checkInvariants()
            if self.progressMark == before { break }
        }
        // What the relay handed to the kernel before it closed still reaches the peers.
        self.peerConsumes(.client, count: Int.max)
        self.peerConsumes(.server, count: Int.max)
        if uncutBefore && !self.cut && !self.finished {
            self.violate("both peers finished but the connection did not finish: \(self.machine.phase)")
        }
        if uncutBefore && !self.cut && self.finished {
            self.checkExactDelivery()
        }
        // Time passes every deadline.
        var hops = 0
        while !self.finished && hops < 64 && self.violations.isEmpty {
            hops += 1
            self.advance(by: .seconds(1000))
            self.peerConsumes(.client, count: Int.max)
            self.peerConsumes(.server, count: Int.max)
            self.connectOutcome(succeeds: false)
            self.resumeIfYielded()
            self.pump()
            self.checkInvariants()
        }
        if !self.finished { self.violate("the connection never finished: \(self.machine)") }
        self.checkFinal()
    }

    var clientEverReset: Bool { self.client.reset }
    var serverEverReset: Bool { self.server.reset }

    private var progressMark: [Int] {
        [
            self.client.received.count, self.server.received.count, self.client.readOffset, self.server.readOffset,
            self.closes.count, self.client.receivedFIN ? 1 : 0, self.server.receivedFIN ? 1 : 0, self.finished ? 1 : 0,
            self.spillToClient.count, self.spillToServer.count, self.machine.client.output == .open ? 0 : 1,
            self.machine.server.output == .open ? 0 : 1, self.connectAttempts, self.machine.phase.hashValue,
        ]
    }

    // MARK: - Peers

    func peer(_ side: RelaySide) -> Peer { side == .client ? self.client : self.server }

    mutating func withPeer<R>(_ side: RelaySide, _ body: (inout Peer) -> R) -> R {
        side == .client ? body(&self.client) : body(&self.server)
    }

    /// Whether the relay's socket to `side` is connected (the server socket only once the
    /// connect succeeded).
    func connected(_ side: RelaySide) -> Bool {
        let peer = self.peer(side)
        return peer.descriptor != 0 && self.closes[peer.descriptor] == nil && (side == .client || !self.connecting)
    }

    mutating func peerSends(_ side: RelaySide, count: Int) {
        guard self.connected(side) else { return }
        let sent = self.withPeer(side) { peer -> Bool in
            guard !peer.sentFIN, !peer.reset, !peer.closedEntirely else { return false }
            let start = peer.sent.count
            for index in 0..<count {
                peer.sent.append(UInt8(truncatingIfNeeded: (start + index) &* 31 &+ (side == .client ? 7 : 101)))
            }
            return true
        }
        if sent { self.deliver(side, [.readable]) }
    }

    mutating func peerShutsOutput(_ side: RelaySide) {
        guard self.connected(side) else { return }
        let shut = self.withPeer(side) { peer -> Bool in
            guard !peer.sentFIN, !peer.reset else { return false }
            peer.sentFIN = true
            return true
        }
        if shut { self.deliver(side, [.readable, .peerClosed]) }
    }

    mutating func peerClosesEntirely(_ side: RelaySide) {
        guard self.connected(side), !self.peer(side).reset, !self.peer(side).closedEntirely else { return }
        self.peerShutsOutput(side)
        self.withPeer(side) { peer in
            peer.closedEntirely = true
            // Unconsumed bytes at close make the peer's kernel reset.
            if !peer.inTransit.isEmpty { peer.reset = true }
        }
        if self.peer(side).reset { self.deliver(side, [.readable, .writable, .error, .hangup]) }
    }

    mutating func peerResets(_ side: RelaySide) {
        guard self.connected(side), !self.peer(side).reset else { return }
        self.withPeer(side) { peer in
            peer.reset = true
            peer.inTransit.removeAll()
        }
        self.deliver(side, [.readable, .writable, .error, .hangup])
    }

    mutating func peerConsumes(_ side: RelaySide, count: Int) {
        guard self.peer(side).descriptor != 0 else { return }
        let freed = self.withPeer(side) { peer -> Bool in
            guard !peer.reset, !peer.inTransit.isEmpty || (peer.finQueued && !peer.receivedFIN) else { return false }
            let taken = min(count, peer.inTransit.count)
            peer.received += peer.inTransit.prefix(taken)
            peer.inTransit.removeFirst(taken)
            if peer.inTransit.isEmpty && peer.finQueued { peer.receivedFIN = true }
            let edge = peer.writeBlocked && taken > 0
            if edge { peer.writeBlocked = false }
            return edge
        }
        if freed { self.deliver(side, [.writable]) }
    }

    /// The pending connect attempt succeeds or fails.
    mutating func connectOutcome(succeeds: Bool) {
        guard self.connecting, self.server.descriptor != 0 else { return }
        self.connecting = false
        if succeeds {
            self.deliver(.server, [.writable])
        } else {
            self.deliver(.server, [.writable, .error, .hangup])
        }
    }

    mutating func advance(by amount: TimeAmount) {
        self.now = self.now + amount
        if let deadline = self.machine.deadline, deadline <= self.now {
            self.machine.timerFired(now: self.now)
        }
    }

    mutating func closeRequested() {
        self.cut = true
        self.machine.closeRequested()
    }

    mutating func resumeIfYielded() {
        guard self.yielded else { return }
        self.yielded = false
        self.machine.resume()
    }

    /// An edge on the relay's socket to `side` (edge-triggered epoll).
    mutating func deliver(_ side: RelaySide, _ events: RelayReadiness) {
        guard self.peer(side).descriptor != 0, self.closes[self.peer(side).descriptor] == nil else { return }
        self.machine.ready(side, events, now: self.now)
    }

    // MARK: - The shell

    mutating func open() -> Int {
        defer { self.nextDescriptor += 1 }
        return self.nextDescriptor
    }

    /// Executes actions until the machine waits.
    mutating func pump() {
        var budget = 100_000
        while let action = self.machine.nextAction() {
            budget -= 1
            if budget == 0 {
                self.violate("more than 100000 actions without waiting: a loop")
                return
            }
            self.perform(action)
            if !self.violations.isEmpty { return }
        }
    }

    mutating func perform(_ action: RelayStateMachine.Action) {
        switch action {
        case .admit:
            if self.refuseAdmission {
                self.cut = true
                self.machine.refused()
            } else {
                self.machine.admitted()
            }
        case .connect(let attempt):
            guard attempt == self.connectAttempts, attempt < self.machine.targetCount else {
                return self.violate("connect attempt \(attempt) out of order (\(self.connectAttempts) made)")
            }
            self.connectAttempts += 1
            self.server = Peer(capacity: self.server.capacity)
            self.server.descriptor = self.open()
            self.connecting = true
            self.machine.connectResult(.inProgress, now: self.now)
        case .connectFailed:
            if self.connectAttempts >= self.machine.targetCount { self.cut = true }
        case .established:
            self.machine.tapAttached()
        case .noTarget:
            self.cut = true
        case .timedOut(let reason):
            self.cut = true
            self.timeoutsFired.append(reason)
        case .read(let side):
            self.read(side)
        case .write(let side, let count, _):
            guard count == self.scratchCount else {
                return self.violate("write of \(count), scratch holds \(self.scratchCount)")
            }
            let written = self.send(side, Array(self.scratch[0..<count]))
            switch written {
            case .some(let taken):
                let direction = side.other.readDirection
                self.handed[direction, default: 0] += taken
                self.appendSpill(direction, Array(self.scratch[taken..<count]))
                self.machine.writeResult(side, .written(taken), now: self.now)
            case .none:
                self.machine.writeResult(side, .failed, now: self.now)
            }
        case .stash(let direction, let count):
            guard count == self.scratchCount else {
                return self.violate("stash of \(count), scratch holds \(self.scratchCount)")
            }
            guard self.spill(direction).isEmpty else {
                return self.violate("stash into a non-empty spill (\(direction))")
            }
            self.appendSpill(direction, Array(self.scratch[0..<count]))
        case .flush(let side, let count, _):
            let direction = side.other.readDirection
            let spill = self.spill(direction)
            guard count == spill.count else { return self.violate("flush of \(count), spill holds \(spill.count)") }
            switch self.send(side, spill) {
            case .some(let taken):
                self.handed[direction, default: 0] += taken
                self.setSpill(direction, Array(spill[taken...]))
                self.machine.writeResult(side, .written(taken), now: self.now)
            case .none:
                self.machine.writeResult(side, .failed, now: self.now)
            }
        case .drop(let direction, let count):
            guard count == self.spill(direction).count else {
                return self.violate("drop of \(count), spill holds \(self.spill(direction).count)")
            }
            self.setSpill(direction, [])
        case .observe(let direction, let count):
            guard count == self.scratchCount else {
                return self.violate("observe \(count), scratch holds \(self.scratchCount)")
            }
            if direction == .clientToServer {
                self.tapToServer += self.scratch[0..<count]
            } else {
                self.tapToClient += self.scratch[0..<count]
            }
        case .observeEnd(let direction):
            guard self.tapEnds.insert(direction).inserted else {
                return self.violate("end of \(direction) observed twice")
            }
        case .shutdownOutput(let side):
            self.checkEndOfStreamPassedOn(to: side)
            let ok = self.withPeer(side) { peer -> Bool in
                guard !peer.reset, !peer.outputShut else { return false }
                peer.outputShut = true
                peer.finQueued = true
                if peer.inTransit.isEmpty && !peer.closedEntirely { peer.receivedFIN = true }
                return true
            }
            self.machine.shutdownResult(side, succeeded: ok, now: self.now)
        case .collectError(let side):
            self.machine.errorCollected(side, hadError: self.peer(side).reset, now: self.now)
        case .countError(let side):
            let descriptor = self.peer(side).descriptor
            self.errorsCounted[descriptor, default: 0] += 1
            if self.errorsCounted[descriptor]! > 1 {
                self.violate("error of \(side) descriptor \(descriptor) counted twice")
            }
        case .close(let side):
            self.close(side)
        case .yield:
            self.yielded = true
        case .finish:
            guard !self.finished else { return self.violate("finished twice") }
            self.finished = true
        }
    }

    mutating func read(_ side: RelaySide) {
        let peer = self.peer(side)
        guard peer.descriptor != 0, self.closes[peer.descriptor] == nil else {
            return self.violate("read of a closed \(side) socket")
        }
        guard self.machine.phase == .relaying else { return self.violate("read while \(self.machine.phase)") }
        let direction = side.readDirection
        let destination = self.machine[side.other]
        let forwards = destination.isOpen && destination.output == .open
        if forwards && !self.spill(direction).isEmpty {
            return self.violate("\(side) read while \(self.spill(direction).count) bytes wait for the other side")
        }
        if peer.unread > 0 {
            let count = min(self.scratchSize, peer.unread)
            for index in 0..<count { self.scratch[index] = peer.sent[peer.readOffset + index] }
            self.scratchCount = count
            self.withPeer(side) { $0.readOffset += count }
            if forwards { self.forwardedRead[direction, default: 0] += count }
            self.machine.readResult(side, .bytes(count, short: count < self.scratchSize), now: self.now)
        } else if peer.reset {
            self.machine.readResult(side, .failed, now: self.now)
        } else if peer.sentFIN {
            self.machine.readResult(side, .endOfStream, now: self.now)
        } else {
            self.machine.readResult(side, .wouldBlock, now: self.now)
        }
    }

    /// The kernel takes what fits; `nil`: the write fails (reset, or after the peer closed).
    mutating func send(_ side: RelaySide, _ bytes: [UInt8]) -> Int? {
        let peer = self.peer(side)
        guard peer.descriptor != 0, self.closes[peer.descriptor] == nil else {
            self.violate("write to a closed \(side) socket")
            return nil
        }
        if peer.outputShut { self.violate("write to \(side) after its output was shut") }
        if peer.reset { return nil }
        if peer.closedEntirely {
            // The peer's kernel answers with a reset; the bytes are lost.
            self.withPeer(side) { $0.reset = true }
            self.deliver(side, [.error, .hangup, .readable, .writable])
            return bytes.count
        }
        let taken = min(bytes.count, peer.capacity - peer.inTransit.count)
        self.withPeer(side) { peer in
            peer.inTransit += bytes.prefix(taken)
            if taken < bytes.count { peer.writeBlocked = true }
        }
        return taken
    }

    mutating func close(_ side: RelaySide) {
        let descriptor = self.peer(side).descriptor
        guard descriptor != 0 else { return self.violate("close of \(side) without a descriptor") }
        self.closes[descriptor, default: 0] += 1
        if self.closes[descriptor]! > 1 { return self.violate("\(side) descriptor \(descriptor) closed twice") }
        if self.peer(side).unread > 0 && !self.peer(side).reset && !self.cut {
            self.violate(
                "\(side) closed with \(self.peer(side).unread) unread bytes (a reset would discard what is queued for the peer)"
            )
        }
        if !self.peer(side).outputShut && !self.cut && self.machine.phase != .admitting {
            if case .connecting = self.machine.phase {} else { self.checkEndOfStreamPassedOn(to: side) }
        }
        self.withPeer(side) { peer in
            if !peer.outputShut {
                peer.outputShut = true
                peer.finQueued = true
                if peer.inTransit.isEmpty { peer.receivedFIN = true }
            }
            if peer.unread > 0 { peer.reset = true }
        }
        if side == .server && self.connecting { self.connecting = false }
    }

    // MARK: - Spill

    func spill(_ direction: RelayDirection) -> [UInt8] {
        direction == .clientToServer ? self.spillToServer : self.spillToClient
    }

    mutating func setSpill(_ direction: RelayDirection, _ bytes: [UInt8]) {
        if direction == .clientToServer { self.spillToServer = bytes } else { self.spillToClient = bytes }
    }

    mutating func appendSpill(_ direction: RelayDirection, _ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        if !self.spill(direction).isEmpty { self.violate("a second read batch spilled in \(direction)") }
        self.setSpill(direction, self.spill(direction) + bytes)
    }

    // MARK: - Oracles

    mutating func violate(_ message: String) {
        self.violations.append("step \(self.steps): \(message)")
    }

    /// An end of stream passed to `side` must follow every byte read from the other side.
    mutating func checkEndOfStreamPassedOn(to side: RelaySide) {
        let direction = side.other.readDirection
        let read = self.forwardedRead[direction, default: 0]
        let handed = self.handed[direction, default: 0]
        if read != handed && !self.peer(side).reset {
            self.violate("end of stream passed to \(side) with \(read - handed) of the bytes before it not handed over")
        }
    }

    mutating func checkInvariants() {
        for (receiver, sender) in [(RelaySide.server, RelaySide.client), (.client, .server)] {
            let received = self.peer(receiver).received
            let sent = self.peer(sender).sent
            if received.count > sent.count || !received.elementsEqual(sent.prefix(received.count)) {
                self.violate("\(receiver) received bytes that are not a prefix of what \(sender) sent")
            }
            let tapped = sender == .client ? self.tapToServer : self.tapToClient
            if tapped.count > sent.count || !tapped.elementsEqual(sent.prefix(tapped.count)) {
                self.violate(
                    "the tap saw bytes of \(sender.readDirection) that are not a prefix of what \(sender) sent"
                )
            }
            let spill = self.spill(sender.readDirection)
            if spill.count > self.scratchSize {
                self.violate("\(spill.count) bytes held in \(sender.readDirection), more than one read batch")
            }
            if self.machine.pending(sender.readDirection) != spill.count {
                self.violate(
                    "the machine counts \(self.machine.pending(sender.readDirection)) pending bytes in \(sender.readDirection), the spill holds \(spill.count)"
                )
            }
        }
    }

    /// Nobody cut the connection and nobody reset: each peer got exactly what the other sent,
    /// and the tap saw exactly that.
    mutating func checkExactDelivery() {
        for (receiver, sender) in [(RelaySide.server, RelaySide.client), (.client, .server)] {
            if self.peer(receiver).closedEntirely || self.peer(receiver).reset { continue }
            let received = self.peer(receiver).received
            let sent = self.peer(sender).sent
            if received != sent {
                self.violate("\(receiver) received \(received.count) bytes, \(sender) sent \(sent.count)")
            }
            if (self.peer(sender).sentFIN || self.peer(sender).reset) && !self.peer(receiver).receivedFIN {
                self.violate("\(sender)'s end of stream never reached \(receiver)")
            }
            let tapped = sender == .client ? self.tapToServer : self.tapToClient
            if tapped != sent {
                self.violate(
                    "the tap saw \(tapped.count) bytes of \(sender.readDirection), \(sender) sent \(sent.count)"
                )
            }
        }
        if !self.timeoutsFired.isEmpty { self.violate("deadlines fired in a run nobody cut: \(self.timeoutsFired)") }
    }

    mutating func checkFinal() {
        for side in RelaySide.allCases {
            let descriptor = self.peer(side).descriptor
            if descriptor != 0 && self.closes[descriptor] != 1 {
                self.violate("\(side) descriptor \(descriptor) closed \(self.closes[descriptor] ?? 0) times")
            }
        }
        if self.closes.count != self.nextDescriptor - 1 {
            self.violate("\(self.nextDescriptor - 1) descriptors opened, \(self.closes.count) closed")
        }
        if !self.spillToServer.isEmpty || !self.spillToClient.isEmpty {
            self.violate("bytes left in flight at the end: \(self.spillToServer.count) + \(self.spillToClient.count)")
        }
        if self.machine.tapped {
            for direction in RelayDirection.allCases where !self.tapEnds.contains(direction) {
                self.violate("the tap was never told \(direction) ended")
            }
        }
    }
}
