import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The relay's data path: ``threads`` event loops (one thread each, edge-triggered epoll, see
/// ``RelayEventLoop``) shared by every ``RelayListener`` of the process, the process-wide
/// connection limit and the resolver of target names.
///
/// Each listening socket is watched by every loop (`EPOLLEXCLUSIVE`: one loop is woken per new
/// connection) and a connection stays on the loop that accepted it. SwiftNIO is not on this path
/// (it keeps the admin endpoint, the Riemann client and the lifecycle).
///
/// The relay requires Linux (epoll); elsewhere ``RelayListener/start()`` throws ``Unsupported``.
public final class RelayEngine: Sendable {
    /// Thrown where there is no epoll.
    public struct Unsupported: Error, CustomStringConvertible {
        public var description: String { "the relay requires Linux (epoll)" }
    }

    /// The engine listeners use when given none: two loops (or one on a single CPU), no
    /// process-wide limit. Started on first use, never stopped.
    public static let shared = RelayEngine(threads: 2)

    public let threads: Int
    /// The process-wide connection limit (top-level `max_connections`), if any.
    public let budget: ConnectionBudget?
    public let resolver: TargetResolver

    #if os(Linux)
    private let loops = Mutex<[RelayEventLoop]?>(nil)
    #endif

    /// - Parameters:
    ///   - threads: event loops (at least 1).
    ///   - maxConnections: client connections open at once over all listeners; `nil`: no limit.
    public init(threads: Int, maxConnections: Int? = nil, resolver: TargetResolver = TargetResolver()) {
        self.threads = max(1, threads)
        self.budget = maxConnections.map { ConnectionBudget(limit: $0) }
        self.resolver = resolver
    }

    #if os(Linux)
    /// The loops, started on first use.
    func startedLoops() throws -> [RelayEventLoop] {
        try self.loops.withLock { loops in
            if let loops { return loops }
            var started: [RelayEventLoop] = []
            do {
                for index in 0..<self.threads {
                    let loop = try RelayEventLoop(engine: self, index: index)
                    try loop.start()
                    started.append(loop)
                }
            } catch {
                // All loops or none: the listener's start fails with this error (reported at
                // start-up), and the loops already running end their threads.
                for loop in started { loop.submit(.stop) }
                throw error
            }
            loops = started
            return started
        }
    }

    /// Runs `command` on every loop and returns when all have.
    func everyLoop(_ command: (@escaping @Sendable () -> Void) -> RelayEventLoop.Command) async {
        guard let loops = self.loops.withLock({ $0 }), !loops.isEmpty else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let countdown = Countdown(loops.count) { continuation.resume() }
            for loop in loops { loop.submit(command { countdown.tick() }) }
        }
    }
    #endif

    /// Stops the loops: every connection still open is closed. The engine cannot be started again.
    public func shutdown() async {
        #if os(Linux)
        let loops = self.loops.withLock { loops -> [RelayEventLoop] in
            defer { loops = [] }
            return loops ?? []
        }
        for loop in loops { loop.submit(.stop) }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            TargetResolver.detached {
                for loop in loops { if let thread = loop.thread { pthread_join(thread, nil) } }
                continuation.resume()
            }
        }
        #endif
        self.resolver.stop()
    }
}

/// Counts down from `count`; the last ``tick()`` runs the completion.
final class Countdown: Sendable {
    private let remaining: Atomic<Int>
    private let completion: @Sendable () -> Void

    init(_ count: Int, completion: @escaping @Sendable () -> Void) {
        self.remaining = Atomic(count)
        self.completion = completion
    }

    func tick() {
        if self.remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { self.completion() }
    }
}
