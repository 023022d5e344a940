#if os(Linux)
import CRelaySystem
import Glibc
import Logging
import NIOCore
import Synchronization

/// One relay thread: an edge-triggered epoll loop that accepts, connects and relays connections,
/// each one driven by its ``RelayStateMachine``.
///
/// - Every connection socket is registered once, `EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET`: no
///   `EPOLL_CTL_MOD` or `EPOLL_CTL_DEL` ever (closing a descriptor removes it); readiness is
///   remembered by the state machine until a read or write would block.
/// - Listening sockets are shared by all loops, level-triggered with `EPOLLEXCLUSIVE` (one loop
///   woken per connection), at most ``acceptsPerWake`` accepted per wake-up; on `EMFILE`/`ENFILE`
///   accepting pauses for ``acceptPause`` (the socket stays readable, a level-triggered loop would
///   otherwise spin).
/// - Connections live in a preallocated table (``ConnectionSlab``); the epoll data word carries
///   the slot, the side and a registration tag, so a late event of a closed socket is ignored.
/// - One scratch buffer per loop for reads; a spill buffer (``SpillPool``) only for bytes the
///   other side did not take. Deadlines in a ``TimerWheel``: no system call per timer.
/// - Other threads talk to the loop through a locked command queue and an `eventfd`.
final class RelayEventLoop: @unchecked Sendable {
    /// Accepts per listener wake-up (HAProxy's `tune.maxaccept` default).
    static let acceptsPerWake = 4
    static let acceptPause = TimeAmount.milliseconds(100)
    /// Bytes read at once: one read batch.
    static let scratchSize = 64 << 10
    static let maximumEvents = 256

    static let listenerFlag: UInt64 = 1 << 63
    static let wakeData: UInt64 = listenerFlag | 0xFFFF_FFFF

    enum Command {
        /// Start accepting on a listening socket shared with the other loops.
        case addListener(ListeningSocket, RelayListener, done: @Sendable () -> Void)
        /// Stop accepting on it (the caller closes it once every loop is done).
        case removeListener(Int32, done: @Sendable () -> Void)
        /// Close every connection of a listener (those counted in its registry) now.
        case closeConnections(ConnectionRegistry, done: @Sendable () -> Void)
        /// Close everything and end the thread.
        case stop
    }

    struct LoopListener {
        let socket: ListeningSocket
        let listener: RelayListener
        var registered = true
    }

    let engine: RelayEngine
    let index: Int
    private let epollFD: Int32
    private let wakeFD: Int32
    private let commands = Mutex<[Command]>([])
    private(set) var thread: pthread_t?

    // Confined to the loop's thread from here on, and touched for every event: no run-time
    // exclusivity check (about 100 instructions for every access spanning a call, some fifteen
    // per churn connection).
    @exclusivity(unchecked) var slab = ConnectionSlab()
    @exclusivity(unchecked) var wheel: TimerWheel
    let scratch: UnsafeMutableRawBufferPointer
    @exclusivity(unchecked) var spills = SpillPool(bufferSize: RelayEventLoop.scratchSize)
    @exclusivity(unchecked) var listeners: [LoopListener?] = []
    @exclusivity(unchecked) var runQueue: [Int] = []
    @exclusivity(unchecked) var draining: [Int] = []
    /// Connections whose deadline came (reused, so expiring allocates nothing).
    @exclusivity(unchecked) var due: [Int] = []
    @exclusivity(unchecked) var nextTag: UInt32 = 1
    @exclusivity(unchecked) var now: NIODeadline
    @exclusivity(unchecked) var acceptPausedUntil: NIODeadline?
    /// The taps' view of the loop: its time and their batches, flushed once per iteration.
    let tapLoop: RelayTapLoop
    @exclusivity(unchecked) private var running = true
    private let events: UnsafeMutablePointer<epoll_event>

    init(engine: RelayEngine, index: Int) throws {
        self.engine = engine
        self.index = index
        let epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw SystemCallError("epoll_create1") }
        let wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard wakeFD >= 0 else {
            close(epollFD)
            throw SystemCallError("eventfd")
        }
        guard crelay_epoll_add(epollFD, wakeFD, UInt32(EPOLLIN.rawValue), Self.wakeData) == 0 else {
            let error = SystemCallError("epoll_ctl")
            close(epollFD)
            close(wakeFD)
            throw error
        }
        self.epollFD = epollFD
        self.wakeFD = wakeFD
        self.now = .now()
        self.tapLoop = RelayTapLoop(now: self.now)
        self.wheel = TimerWheel(now: self.now)
        self.scratch = .allocate(byteCount: Self.scratchSize, alignment: 64)
        self.events = .allocate(capacity: Self.maximumEvents)
    }

    deinit {
        close(self.epollFD)
        close(self.wakeFD)
        self.scratch.deallocate()
        self.events.deallocate()
        self.spills.drain()
    }

    /// Starts the loop's thread; throws when no thread can be created.
    func start() throws(SystemCallError) {
        let name = "relay-loop-\(self.index)"
        self.thread = try TargetResolver.spawn {
            crelay_set_thread_name(name)
            self.run()
        }
    }

    /// Queues `command` for the loop's thread and wakes it.
    func submit(_ command: Command) {
        self.commands.withLock { $0.append(command) }
        var one: UInt64 = 1
        _ = write(self.wakeFD, &one, 8)
    }

    // MARK: - The loop

    private func run() {
        while self.running {
            let count = epoll_wait(self.epollFD, self.events, Int32(Self.maximumEvents), self.waitMilliseconds())
            self.now = .now()
            self.tapLoop.now = self.now
            if count < 0 && errno != EINTR { break }
            for position in 0..<max(0, Int(count)) {
                let event = self.events + position
                self.dispatch(data: crelay_event_data(event), flags: crelay_event_flags(event))
            }
            self.runYielded()
            self.wheel.expire(now: self.now, into: &self.due)
            for index in self.due { self.timerFired(index) }
            self.due.removeAll(keepingCapacity: true)
            if let until = self.acceptPausedUntil, until <= self.now { self.resumeAccepting() }
            // Before waiting again: what the taps gathered is handed on now, not with more traffic.
            self.tapLoop.iterationEnded()
        }
        self.closeEverything()
        self.tapLoop.iterationEnded()
    }

    /// How long `epoll_wait` may sleep: until the next timer slot, at once when connections
    /// yielded, forever when nothing is scheduled.
    private func waitMilliseconds() -> Int32 {
        if !self.runQueue.isEmpty { return 0 }
        var next = self.wheel.nextExpiry()
        if let until = self.acceptPausedUntil { next = next.map { min($0, until) } ?? until }
        guard let next else { return -1 }
        let now = NIODeadline.now()
        guard next > now else { return 0 }
        let milliseconds = (next - now).nanoseconds / 1_000_000 + 1
        return Int32(min(milliseconds, 60_000))
    }

    private func dispatch(data: UInt64, flags: UInt32) {
        if data & Self.listenerFlag != 0 {
            if data == Self.wakeData {
                self.runCommands()
            } else {
                self.accept(listenerSlot: Int(data & 0xFFFF_FFFF))
            }
            return
        }
        let index = Int(data & 0x7FFF_FFFF)
        let side: RelaySide = data & (1 << 31) != 0 ? .server : .client
        let tag = UInt32(truncatingIfNeeded: data >> 32)
        guard let record = self.slab.record(index), record.tag(side) == tag else { return }
        var readiness = RelayReadiness()
        if flags & UInt32(EPOLLIN.rawValue) != 0 { readiness.insert(.readable) }
        if flags & UInt32(EPOLLOUT.rawValue) != 0 { readiness.insert(.writable) }
        if flags & UInt32(EPOLLRDHUP.rawValue) != 0 { readiness.insert(.peerClosed) }
        if flags & UInt32(EPOLLERR.rawValue) != 0 { readiness.insert(.error) }
        if flags & UInt32(EPOLLHUP.rawValue) != 0 { readiness.insert(.hangup) }
        record.pointee.machine.ready(side, readiness, now: self.now)
        self.drive(index)
    }

    /// The epoll data word of `side`'s registration for the connection in `index`.
    func registrationData(index: Int, side: RelaySide, tag: UInt32) -> UInt64 {
        UInt64(tag) << 32 | (side == .server ? 1 << 31 : 0) | UInt64(index)
    }

    /// A fresh registration tag: 1...2^31-1 (bit 63 of the data word, the tag's top bit, marks
    /// listeners and the wake-up).
    func makeTag() -> UInt32 {
        let tag = self.nextTag
        self.nextTag = self.nextTag == 0x7FFF_FFFF ? 1 : self.nextTag + 1
        return tag
    }

    /// Registers `fd` once, edge-triggered, for everything.
    func register(_ fd: Int32, index: Int, side: RelaySide, tag: UInt32) -> Bool {
        let events =
            UInt32(EPOLLIN.rawValue) | UInt32(EPOLLOUT.rawValue) | UInt32(EPOLLRDHUP.rawValue)
            | UInt32(EPOLLET.rawValue)
        return crelay_epoll_add(self.epollFD, fd, events, self.registrationData(index: index, side: side, tag: tag))
            == 0
    }

    private func runYielded() {
        guard !self.runQueue.isEmpty else { return }
        // Connections yielding again now go to the (empty) other queue, for the next turn.
        swap(&self.runQueue, &self.draining)
        var position = 0
        while position < self.draining.count {
            let index = self.draining[position]
            position += 1
            guard let record = self.slab.record(index) else { continue }
            record.pointee.queued = false
            record.pointee.machine.resume()
            self.drive(index)
        }
        self.draining.removeAll(keepingCapacity: true)
    }

    private func timerFired(_ index: Int) {
        guard let record = self.slab.record(index) else { return }
        record.pointee.machine.timerFired(now: self.now)
        self.drive(index)
    }

    // MARK: - Commands

    private func runCommands() {
        var value: UInt64 = 0
        _ = read(self.wakeFD, &value, 8)
        let commands = self.commands.withLock { commands -> [Command] in
            defer { commands.removeAll() }
            return commands
        }
        for command in commands {
            switch command {
            case .addListener(let socket, let listener, let done):
                self.addListener(socket, listener)
                done()
            case .removeListener(let fd, let done):
                self.removeListener(fd)
                done()
            case .closeConnections(let registry, let done):
                for index in self.slab.occupied {
                    guard let record = self.slab.record(index), record.pointee.shared.registry === registry
                    else { continue }
                    record.pointee.machine.closeRequested()
                    self.drive(index)
                }
                done()
            case .stop:
                self.running = false
            }
        }
    }

    private func addListener(_ socket: ListeningSocket, _ listener: RelayListener) {
        let slot = self.listeners.firstIndex { $0 == nil } ?? self.listeners.count
        if slot == self.listeners.count { self.listeners.append(nil) }
        self.listeners[slot] = LoopListener(socket: socket, listener: listener)
        let registered = self.registerListener(slot)
        self.listeners[slot]?.registered = registered && self.acceptPausedUntil == nil
        if registered && self.acceptPausedUntil != nil { self.unregisterListener(slot) }
    }

    private func removeListener(_ fd: Int32) {
        guard let slot = self.listeners.firstIndex(where: { $0?.socket.fd == fd }) else { return }
        if self.listeners[slot]?.registered == true { self.unregisterListener(slot) }
        self.listeners[slot] = nil
    }

    private func registerListener(_ slot: Int) -> Bool {
        guard let entry = self.listeners[slot] else { return false }
        let events = UInt32(EPOLLIN.rawValue) | UInt32(EPOLLEXCLUSIVE.rawValue)
        return crelay_epoll_add(self.epollFD, entry.socket.fd, events, Self.listenerFlag | UInt64(slot)) == 0
    }

    private func unregisterListener(_ slot: Int) {
        guard let entry = self.listeners[slot] else { return }
        var event = epoll_event()
        epoll_ctl(self.epollFD, EPOLL_CTL_DEL, entry.socket.fd, &event)
    }

    // MARK: - Accepting

    private func accept(listenerSlot slot: Int) {
        guard slot < self.listeners.count, let entry = self.listeners[slot] else { return }
        for _ in 0..<Self.acceptsPerWake {
            var peer = RawSocketAddress()
            let fd = withUnsafeMutablePointer(to: &peer.storage) { storage in
                storage.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    crelay_accept4(
                        entry.socket.fd,
                        $0,
                        &peer.length,
                        Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)
                    )
                }
            }
            if fd < 0 {
                switch errno {
                case EINTR, ECONNABORTED, EPROTO, EPERM:
                    continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    self.pauseAccepting(errno: errno, listener: entry.listener)
                    return
                default:
                    return
                }
            }
            self.accepted(fd, peer: peer, on: entry)
        }
    }

    /// Out of descriptors (or memory): stop accepting for a moment; the kernel keeps the new
    /// connections in the backlog meanwhile.
    private func pauseAccepting(errno code: Int32, listener: RelayListener) {
        self.acceptPausedUntil = self.now + Self.acceptPause
        for slot in self.listeners.indices where self.listeners[slot]?.registered == true {
            self.unregisterListener(slot)
            self.listeners[slot]?.registered = false
        }
        listener.warnings.warning(
            .acceptPaused,
            "cannot accept connections (out of descriptors or memory); pausing accepting for 100 ms",
            logger: listener.logger,
            metadata: ["error": "\(SystemCallError.text(code))"],
            now: self.now
        )
    }

    private func resumeAccepting() {
        self.acceptPausedUntil = nil
        for slot in self.listeners.indices where self.listeners[slot]?.registered == false {
            self.listeners[slot]?.registered = self.registerListener(slot)
        }
    }

    private func accepted(_ fd: Int32, peer: RawSocketAddress, on entry: LoopListener) {
        let shared = entry.listener.currentShared
        if let size = shared.configuration.socketBufferSize, size != entry.socket.socketBufferSize {
            // Set after a reload changed it; otherwise inherited from the listening socket.
            var value = Int32(clamping: size)
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &value, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, socklen_t(MemoryLayout<Int32>.size))
        }
        let machine = RelayStateMachine(
            timeouts: shared.timeouts,
            targetCount: shared.targetPool.targets.count,
            moreBeforeEndOfStream: shared.configuration.kernel.moreBeforeEndOfStream,
            now: self.now
        )
        let record = RelayConnectionRecord(
            machine: machine,
            shared: shared,
            clientFD: fd,
            peer: peer,
            local: entry.socket.localAddress
        )
        let index = self.slab.insert(record)
        self.wheel.reserve(self.slab.capacity)
        self.drive(index)
    }

    // MARK: - Stopping

    private func closeEverything() {
        for index in self.slab.occupied {
            guard let record = self.slab.record(index) else { continue }
            record.pointee.machine.closeRequested()
            self.drive(index)
        }
        for slot in self.listeners.indices where self.listeners[slot] != nil {
            if self.listeners[slot]?.registered == true { self.unregisterListener(slot) }
        }
        self.listeners = []
        self.slab.removeAll()
    }
}

#endif
