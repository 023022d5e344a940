import NIOCore
import Synchronization

#if canImport(Glibc)
import CRelaySystem
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Resolves the targets configured by name (`zabbix.example.net:10051`) off the event loops and
/// publishes the addresses as snapshots: an event loop never blocks in `getaddrinfo`, it reads
/// the latest snapshot (and finds nothing for a name not resolved yet, which it treats as a
/// failed connect and asks for a fresh resolution).
///
/// Names are resolved when a listener starts or reloads (``resolve(_:)``, awaited), again every
/// ``refreshInterval`` on a thread of their own, and at once when a connect found no address.
public final class TargetResolver: Sendable {
    /// How often names are resolved again (DNS changes reach new connections within this).
    public let refreshInterval: Duration

    private struct State {
        var addresses: [Endpoint: RawSocketAddress] = [:]
        var names: Set<Endpoint> = []
        var wanted = false
        var stopped = false
        var thread: pthread_t?
    }

    private let state = Mutex(State())
    private let wake = ConditionLock()

    public init(refreshInterval: Duration = .seconds(60)) {
        self.refreshInterval = refreshInterval
    }

    /// The address to connect to for `endpoint`: its literal, or the latest resolution of its
    /// name (`nil` if it has none yet: then a resolution is requested).
    func address(of endpoint: Endpoint) -> RawSocketAddress? {
        if let literal = RawSocketAddress(literal: endpoint) { return literal }
        let address = self.state.withLock { $0.addresses[endpoint] }
        if address == nil { self.requestRefresh() }
        return address
    }

    /// Resolves the names among `endpoints` now (off the caller's thread), and keeps them
    /// refreshed from then on.
    public func resolve(_ endpoints: [Endpoint]) async {
        let names = endpoints.filter { $0.literalAddress == nil }
        guard !names.isEmpty else { return }
        self.state.withLock { state in
            for name in names { state.names.insert(name) }
        }
        self.startThreadIfNeeded()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Self.detached {
                for name in names { self.refresh(name) }
                continuation.resume()
            }
        }
    }

    /// Stops the refresh thread.
    public func stop() {
        let thread = self.state.withLock { state -> pthread_t? in
            state.stopped = true
            defer { state.thread = nil }
            return state.thread
        }
        self.wake.signal()
        if let thread { pthread_join(thread, nil) }
    }

    private func requestRefresh() {
        self.state.withLock { $0.wanted = true }
        self.wake.signal()
    }

    private func refresh(_ endpoint: Endpoint) {
        guard let address = Self.lookup(endpoint) else { return }
        self.state.withLock { $0.addresses[endpoint] = address }
    }

    private func run() {
        while true {
            let interval =
                Int64(self.refreshInterval.components.seconds) * 1_000_000_000
                + self.refreshInterval.components.attoseconds / 1_000_000_000
            self.wake.wait(nanoseconds: max(1_000_000, interval))
            let (names, stopped) = self.state.withLock { state in
                state.wanted = false
                return (Array(state.names), state.stopped)
            }
            if stopped { return }
            for name in names { self.refresh(name) }
        }
    }

    private func startThreadIfNeeded() {
        let start = self.state.withLock { state -> Bool in
            guard state.thread == nil, !state.stopped else { return false }
            return true
        }
        guard start else { return }
        // Without the thread, names are still resolved when listeners start or reload (on the
        // caller's thread, see `detached`), only not refreshed in between; the next start or
        // reload tries again.
        guard
            let thread = try? Self.spawn({
                crelay_set_thread_name("relay-resolver")
                self.run()
            })
        else { return }
        self.state.withLock { $0.thread = thread }
    }

    /// The first address `getaddrinfo` gives for `endpoint` (IPv4 or IPv6, for a stream socket).
    static func lookup(_ endpoint: Endpoint) -> RawSocketAddress? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(endpoint.host, String(endpoint.port), &hints, &result) == 0, let first = result else {
            return nil
        }
        defer { freeaddrinfo(result) }
        var address = RawSocketAddress()
        let length = min(Int(first.pointee.ai_addrlen), MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutableBytes(of: &address.storage) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: length))
        }
        address.length = socklen_t(length)
        return address
    }

    /// Runs `body` on a new thread that nobody joins; on the caller's thread when no thread can
    /// be created (the work it is used for, resolving names and joining stopped loops, is bounded).
    static func detached(
        _ body: @escaping @Sendable () -> Void,
        create: ThreadCreate = { pthread_create($0, $1, $2, $3) }
    ) {
        guard let thread = try? Self.spawn(body, create: create) else {
            body()
            return
        }
        pthread_detach(thread)
    }

    /// The signature of `pthread_create`, so that tests can make it fail.
    typealias ThreadCreate = (
        UnsafeMutablePointer<pthread_t>, UnsafePointer<pthread_attr_t>?,
        @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?, UnsafeMutableRawPointer?
    ) -> Int32

    /// Starts a thread running `body`. A thread that cannot be created (`EAGAIN`: the process or
    /// the system is at its thread limit) is a thrown error, for the caller to report.
    static func spawn(
        _ body: @escaping @Sendable () -> Void,
        create: ThreadCreate = { pthread_create($0, $1, $2, $3) }
    ) throws(SystemCallError) -> pthread_t {
        final class Box: Sendable {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let context = Unmanaged.passRetained(Box(body))
        var thread = pthread_t()
        let result = create(
            &thread,
            nil,
            { context in
                Unmanaged<Box>.fromOpaque(context!).takeRetainedValue().body()
                return nil
            },
            context.toOpaque()
        )
        guard result == 0 else {
            context.release()  // the thread that would have taken it never started
            throw SystemCallError("pthread_create", errno: result)
        }
        return thread
    }
}

/// A condition variable with a timed wait, for threads that sleep until signalled or a timeout.
final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var signalled = false

    init() {
        pthread_mutex_init(self.mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(self.condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(self.condition)
        pthread_mutex_destroy(self.mutex)
        self.condition.deallocate()
        self.mutex.deallocate()
    }

    func signal() {
        pthread_mutex_lock(self.mutex)
        self.signalled = true
        pthread_cond_signal(self.condition)
        pthread_mutex_unlock(self.mutex)
    }

    /// Waits until signalled or `nanoseconds` passed.
    func wait(nanoseconds: Int64) {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let total = Int64(deadline.tv_nsec) + nanoseconds % 1_000_000_000
        deadline.tv_sec += Int(nanoseconds / 1_000_000_000 + total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        pthread_mutex_lock(self.mutex)
        while !self.signalled {
            if pthread_cond_timedwait(self.condition, self.mutex, &deadline) != 0 { break }
        }
        self.signalled = false
        pthread_mutex_unlock(self.mutex)
    }
}
