import LogThrottling
import Logging
import NIOCore
import Synchronization

/// Accepts client connections on a listener's addresses and relays each one to a target, on the
/// event loops of a ``RelayEngine`` (see ``RelayStateMachine`` for the relay rules).
///
/// The settings a connection uses (targets, balance, timeouts, limits, socket buffers, tap) are
/// one immutable ``Shared`` snapshot taken when it is accepted; ``update(configuration:tapFactory:)``
/// swaps in a new snapshot for later connections and binds or closes listen addresses, while open
/// connections keep the snapshot they started with.
public final class RelayListener: Sendable {
    /// One generation of settings, what the connections accepted under it share.
    final class Shared: Sendable {
        let configuration: RelayListenerConfiguration
        let timeouts: RelayTimeouts
        let statistics: RelayStatistics
        let targetPool: TargetPool
        let tapFactory: (any RelayTapFactory)?
        let logger: Logger
        let admission: ConnectionAdmission
        let resolver: TargetResolver
        /// The addresses of the targets given as IP literals, in the order of the pool's targets
        /// (parsed once, not per connection); `nil` for names (``resolver`` has them).
        let literalAddresses: [RawSocketAddress?]
        /// The listener's connection ids, open-connection registry and throttled warnings: its
        /// own for its whole lifetime, carried from one generation to the next.
        let connectionIDs: ConnectionIDGenerator
        let registry: ConnectionRegistry
        let warnings: LogThrottle<RelayWarning>

        /// The first generation, made by the listener's initializer from its lifetime parts (the
        /// listener itself is not whole yet, so it is not what a generation holds on to).
        init(
            configuration: RelayListenerConfiguration,
            targetPool: TargetPool,
            tapFactory: (any RelayTapFactory)?,
            statistics: RelayStatistics,
            logger: Logger,
            admission: ConnectionAdmission,
            resolver: TargetResolver,
            connectionIDs: ConnectionIDGenerator,
            registry: ConnectionRegistry,
            warnings: LogThrottle<RelayWarning>
        ) {
            self.configuration = configuration
            self.timeouts = configuration.timeouts
            self.statistics = statistics
            self.targetPool = targetPool
            self.tapFactory = tapFactory
            self.logger = logger
            self.admission = admission
            self.resolver = resolver
            self.literalAddresses = targetPool.targets.map { RawSocketAddress(literal: $0) }
            self.connectionIDs = connectionIDs
            self.registry = registry
            self.warnings = warnings
        }

        /// The next generation: new settings, the same lifetime parts.
        func replacing(
            configuration: RelayListenerConfiguration,
            targetPool: TargetPool,
            tapFactory: (any RelayTapFactory)?
        ) -> Shared {
            Shared(
                configuration: configuration,
                targetPool: targetPool,
                tapFactory: tapFactory,
                statistics: self.statistics,
                logger: self.logger,
                admission: self.admission,
                resolver: self.resolver,
                connectionIDs: self.connectionIDs,
                registry: self.registry,
                warnings: self.warnings
            )
        }

        /// Where to connect for the pool's target `index`; `nil` while its name is unresolved.
        func address(ofTarget index: Int) -> RawSocketAddress? {
            self.literalAddresses[index] ?? self.resolver.address(of: self.targetPool.targets[index])
        }
    }

    /// A listen address could not be bound.
    public struct BindError: Error, CustomStringConvertible {
        public var listener: String
        public var address: Endpoint
        public var underlying: any Error
        public var description: String {
            "listener \(self.listener): cannot listen on \(self.address): \(self.underlying)"
        }
    }

    private struct State {
        var listening: [(address: Endpoint, socket: ListeningSocket)] = []
        var accepting = true
        var shared: Shared
    }

    /// The settings new connections use (open connections keep the ones they were accepted with).
    public var configuration: RelayListenerConfiguration { self.currentShared.configuration }
    public let statistics: RelayStatistics
    /// The target pool new connections use.
    public var targetPool: TargetPool { self.currentShared.targetPool }
    /// The listener's name; fixed for its lifetime.
    public let name: String
    /// The allow-list and connection limits. One per listener for its lifetime, so per-source
    /// counts survive a reload; ``replaceSettings(configuration:tapFactory:)`` updates its settings.
    public let admission: ConnectionAdmission
    /// The event loops this listener's connections run on.
    public let engine: RelayEngine

    let logger: Logger
    let connectionIDs: ConnectionIDGenerator
    /// Open connections and whoever waits for them to close.
    let registry: ConnectionRegistry
    /// Per-connection warnings, throttled (one listener's faults must not flood the log).
    let warnings: LogThrottle<RelayWarning>
    private let state: Mutex<State>

    /// - Parameters:
    ///   - engine: the event loops (by default the process's ``RelayEngine/shared`` one).
    public init(
        configuration: RelayListenerConfiguration,
        engine: RelayEngine = .shared,
        tapFactory: (any RelayTapFactory)? = nil,
        connectionIDs: ConnectionIDGenerator = ConnectionIDGenerator(),
        logger: Logger
    ) {
        var logger = logger
        logger[metadataKey: "listener"] = "\(configuration.name)"
        self.name = configuration.name
        self.logger = logger
        self.engine = engine
        self.connectionIDs = connectionIDs
        let statistics = RelayStatistics()
        self.statistics = statistics
        let warnings = LogThrottle<RelayWarning>(interval: TimeAmount(configuration.refusalLogInterval))
        self.warnings = warnings
        let registry = ConnectionRegistry()
        self.registry = registry
        let admission = ConnectionAdmission(
            settings: ConnectionAdmission.Settings(configuration),
            statistics: statistics,
            logger: logger,
            logInterval: TimeAmount(configuration.refusalLogInterval),
            budget: engine.budget
        )
        self.admission = admission
        let pool = TargetPool(
            targets: configuration.targets,
            strategy: configuration.balance,
            coolDown: TimeAmount(configuration.targetCoolDown)
        )
        let shared = Shared(
            configuration: configuration,
            targetPool: pool,
            tapFactory: tapFactory,
            statistics: statistics,
            logger: logger,
            admission: admission,
            resolver: engine.resolver,
            connectionIDs: connectionIDs,
            registry: registry,
            warnings: warnings
        )
        self.state = Mutex(State(shared: shared))
    }

    /// The current settings generation; replaced by ``update(configuration:tapFactory:)``.
    var currentShared: Shared { self.state.withLock { $0.shared } }

    /// Binds every listen address; on failure closes what was bound and throws ``BindError``.
    public func start() async throws {
        let configuration = self.configuration
        await self.engine.resolver.resolve(configuration.targets)
        var bound: [(address: Endpoint, socket: ListeningSocket)] = []
        for address in configuration.listen {
            do {
                bound.append((address, try self.bind(address, configuration)))
            } catch {
                for entry in bound { entry.socket.close() }
                throw BindError(listener: self.name, address: address, underlying: error)
            }
        }
        for entry in bound {
            try await self.startAccepting(entry.socket)
            self.state.withLock { $0.listening.append(entry) }
            self.logger.info("listening", metadata: ["address": "\(entry.socket.localAddress?.displayText ?? "?")"])
        }
    }

    /// What ``update(configuration:tapFactory:)`` changed.
    public struct Update: Sendable, Equatable {
        /// Listen addresses bound by the update.
        public var bound: [Endpoint] = []
        /// Listen addresses closed by the update (connections accepted on them carry on).
        public var closed: [Endpoint] = []
        /// Whether new connections got a new target pool (targets, balance or cool-down changed).
        public var newTargetPool = false
    }

    /// Applies new settings: connections accepted from now on use `configuration` and
    /// `tapFactory`; open connections keep what they started with and are never closed.
    /// Then closes the listen addresses no longer configured and binds the new ones.
    ///
    /// See ``replaceSettings(configuration:tapFactory:)``, ``closeRemovedAddresses()`` and
    /// ``bindAddedAddresses()``, which do the three steps one at a time (a daemon moving an
    /// address from one listener to another closes everywhere before it binds anywhere).
    @discardableResult
    public func update(
        configuration: RelayListenerConfiguration,
        tapFactory: (any RelayTapFactory)?
    ) async throws -> Update {
        var update = Update()
        update.newTargetPool = self.replaceSettings(configuration: configuration, tapFactory: tapFactory)
        await self.engine.resolver.resolve(configuration.targets)
        update.closed = await self.closeRemovedAddresses()
        update.bound = try await self.bindAddedAddresses()
        return update
    }

    /// Swaps the settings new connections use. A changed target list, balance or cool-down gets
    /// a new ``TargetPool`` that keeps the health and counters of the targets that stay; the
    /// allow-list and limits apply to connections accepted from now on (open ones stay open and
    /// keep counting against them); returns
    /// whether it did. `listen` and `backlog` take effect through ``closeRemovedAddresses()`` and
    /// ``bindAddedAddresses()`` (`backlog` only for addresses bound from then on).
    ///
    /// A listener keeps its name (metrics, logs and taps are keyed by it): settings given under
    /// another name are applied under this one.
    @discardableResult
    public func replaceSettings(configuration: RelayListenerConfiguration, tapFactory: (any RelayTapFactory)?) -> Bool {
        var configuration = configuration
        configuration.name = self.name
        return self.state.withLock { state in
            let shared = state.shared
            let old = shared.configuration
            var newPool = false
            var pool = shared.targetPool
            if old.targets != configuration.targets || old.balance != configuration.balance
                || old.targetCoolDown != configuration.targetCoolDown
            {
                pool = TargetPool(
                    targets: configuration.targets,
                    strategy: configuration.balance,
                    coolDown: TimeAmount(configuration.targetCoolDown),
                    carryingOver: shared.targetPool
                )
                newPool = true
            }
            state.shared = shared.replacing(configuration: configuration, targetPool: pool, tapFactory: tapFactory)
            self.admission.update(ConnectionAdmission.Settings(configuration))
            return newPool
        }
    }

    /// Closes the listening sockets of addresses no longer in ``configuration``; connections
    /// accepted on them carry on. Returns the addresses closed.
    public func closeRemovedAddresses() async -> [Endpoint] {
        let listen = self.configuration.listen
        let removed = self.state.withLock { state in
            var removed: [(address: Endpoint, socket: ListeningSocket)] = []
            state.listening.removeAll { entry in
                guard !listen.contains(entry.address) else { return false }
                removed.append(entry)
                return true
            }
            return removed
        }
        for entry in removed {
            await self.stopAccepting(entry.socket)
            self.logger.info(
                "stopped listening; connections accepted there carry on",
                metadata: ["address": "\(entry.address)"]
            )
        }
        return removed.map(\.address)
    }

    /// Binds the addresses of ``configuration`` not bound yet (nothing once the listener stopped
    /// accepting). Returns the addresses bound; if one cannot be bound, the others still are and
    /// ``BindError`` is thrown for the first failure.
    public func bindAddedAddresses() async throws -> [Endpoint] {
        let (accepting, existing) = self.state.withLock { ($0.accepting, $0.listening.map(\.address)) }
        guard accepting else { return [] }
        let configuration = self.configuration
        var bound: [Endpoint] = []
        var failure: BindError?
        for address in configuration.listen where !existing.contains(address) {
            do {
                let socket = try self.bind(address, configuration)
                let kept = self.state.withLock { state in
                    guard state.accepting else { return false }
                    state.listening.append((address, socket))
                    return true
                }
                guard kept else {
                    socket.close()
                    continue
                }
                try await self.startAccepting(socket)
                bound.append(address)
                self.logger.info("listening", metadata: ["address": "\(socket.localAddress?.displayText ?? "?")"])
            } catch {
                failure = failure ?? BindError(listener: self.name, address: address, underlying: error)
            }
        }
        if let failure { throw failure }
        return bound
    }

    /// The addresses actually bound (useful with port 0).
    public var localAddresses: [SocketAddress] {
        self.state.withLock { $0.listening.compactMap(\.socket.localAddress) }
    }

    /// Number of client connections currently open.
    public var openConnections: Int { self.registry.open }

    /// Closes the listening sockets; open connections carry on.
    public func stopAccepting() async {
        let sockets = self.state.withLock { state in
            state.accepting = false
            defer { state.listening = [] }
            return state.listening.map(\.socket)
        }
        for socket in sockets { await self.stopAccepting(socket) }
    }

    /// Waits until every open connection has closed by itself, or `timeout` passed.
    /// Returns whether all connections closed.
    public func waitForConnectionsToClose(timeout: Duration) async -> Bool {
        await self.registry.waitUntilEmpty(timeout: timeout)
    }

    /// Closes every open connection at once (what is queued for a peer is dropped).
    public func closeAllConnections() async {
        #if os(Linux)
        let registry = self.registry
        await self.engine.everyLoop { .closeConnections(registry, done: $0) }
        #endif
    }

    // MARK: - Listening sockets

    private func bind(_ address: Endpoint, _ configuration: RelayListenerConfiguration) throws -> ListeningSocket {
        try ListeningSocket.open(
            address,
            backlog: configuration.backlog,
            socketBufferSize: configuration.socketBufferSize,
            deferAccept: configuration.kernel.deferAccept
        )
    }

    private func startAccepting(_ socket: ListeningSocket) async throws {
        #if os(Linux)
        _ = try self.engine.startedLoops()
        await self.engine.everyLoop { .addListener(socket, self, done: $0) }
        #else
        socket.close()
        throw RelayEngine.Unsupported()
        #endif
    }

    private func stopAccepting(_ socket: ListeningSocket) async {
        #if os(Linux)
        await self.engine.everyLoop { .removeListener(socket.fd, done: $0) }
        #endif
        // Only once no loop can accept on it any more.
        socket.close()
    }
}

/// The open connections of one listener, and the waiters for the moment none is left.
final class ConnectionRegistry: Sendable {
    private struct State {
        var open = 0
        var waiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]
        /// Waiters whose timeout passed before they started waiting.
        var expired: Set<UInt64> = []
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    var open: Int { self.state.withLock { $0.open } }

    func opened() {
        self.state.withLock { $0.open += 1 }
    }

    func closed() {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.open -= 1
            guard state.open == 0, !state.waiters.isEmpty else { return [] }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    /// Whether the count reached zero within `timeout`.
    func waitUntilEmpty(timeout: Duration) async -> Bool {
        let id = self.state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.resume(id, with: false)
        }
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let now = self.state.withLock { state -> Bool? in
                if state.open == 0 { return true }
                if state.expired.remove(id) != nil { return false }
                state.waiters[id] = continuation
                return nil
            }
            if let now { continuation.resume(returning: now) }
        }
        timer.cancel()
        self.state.withLock { _ = $0.expired.remove(id) }
        return result && self.open == 0
    }

    private func resume(_ id: UInt64, with value: Bool) {
        let waiter = self.state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard let waiter = state.waiters.removeValue(forKey: id) else {
                state.expired.insert(id)
                return nil
            }
            return waiter
        }
        waiter?.resume(returning: value)
    }
}
