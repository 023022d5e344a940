import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Accepts client connections on a listener's addresses and relays each one to a target.
///
/// Both channels of a relayed connection share one event loop, have `autoRead` off (see
/// ``RelayGlueHandler`` for the read-on-write-success rule) and allow remote half-closure.
///
/// The settings a connection uses (targets, balance, timeouts, limits, socket buffers, tap) are
/// one immutable ``Shared`` snapshot taken when it is accepted; ``update(configuration:tapFactory:)``
/// swaps in a new snapshot for later connections and binds or closes listen addresses, while open
/// connections keep the snapshot they started with.
public final class RelayListener: Sendable {
    /// What the connection handlers of this listener share: one generation of settings.
    final class Shared: Sendable {
        let configuration: RelayListenerConfiguration
        let statistics: RelayStatistics
        let targetPool: TargetPool
        let tapFactory: (any RelayTapFactory)?
        let logger: Logger
        let admission: ConnectionAdmission

        init(
            configuration: RelayListenerConfiguration, statistics: RelayStatistics, targetPool: TargetPool,
            tapFactory: (any RelayTapFactory)?, logger: Logger, admission: ConnectionAdmission
        ) {
            self.configuration = configuration
            self.statistics = statistics
            self.targetPool = targetPool
            self.tapFactory = tapFactory
            self.logger = logger
            self.admission = admission
        }

        /// One client bootstrap per event loop, built once and used only on its loop: a bootstrap
        /// per connection (its option list, its closures) was a measurable part of a short
        /// connection's cost.
        private let bootstraps = Mutex<[ObjectIdentifier: NIOLoopBound<ClientBootstrap>]>([:])

        /// Opens a server channel to `target` on `loop`, with the relay's channel options.
        func connect(to target: Endpoint, on loop: any EventLoop) -> EventLoopFuture<any Channel> {
            let bootstrap = self.bootstrap(on: loop)
            if let address = target.literalAddress {
                return bootstrap.connect(to: address)
            }
            return bootstrap.connect(host: target.host, port: target.port)
        }

        private func bootstrap(on loop: any EventLoop) -> ClientBootstrap {
            let key = ObjectIdentifier(loop)
            if let bootstrap = self.bootstraps.withLock({ $0[key] }) {
                return bootstrap.value
            }
            var bootstrap = ClientBootstrap(group: loop)
                .channelOption(.autoRead, value: false)
                .channelOption(.allowRemoteHalfClosure, value: true)
                .connectTimeout(self.configuration.connectTimeout)
            if let size = self.configuration.socketBufferSize {
                bootstrap = bootstrap
                    .channelOption(.socketOption(.so_sndbuf), value: SocketOptionValue(size))
                    .channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(size))
            }
            let bound = NIOLoopBound(bootstrap, eventLoop: loop)
            self.bootstraps.withLock { $0[key] = bound }
            return bootstrap
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
        var serverChannels: [(address: Endpoint, channel: any Channel)] = []
        var connections: [ObjectIdentifier: any Channel] = [:]
        var accepting = true
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// The settings new connections use (open connections keep the ones they were accepted with).
    public var configuration: RelayListenerConfiguration { self.shared.configuration }
    public var statistics: RelayStatistics { self.shared.statistics }
    /// The target pool new connections use.
    public var targetPool: TargetPool { self.shared.targetPool }
    /// The listener's name; fixed for its lifetime.
    public let name: String
    /// The allow-list and connection limits. One per listener for its lifetime, so per-source
    /// counts survive a reload; ``replaceSettings(configuration:tapFactory:)`` updates its settings.
    public let admission: ConnectionAdmission

    /// The current settings generation; replaced by ``update(configuration:tapFactory:)``.
    private var shared: Shared { self.current.withLock { $0 } }
    private let current: Mutex<Shared>
    private let statisticsStore: RelayStatistics
    private let logger: Logger
    private let group: any EventLoopGroup
    private let connectionIDs: ConnectionIDGenerator
    private let state = Mutex(State())

    public init(
        configuration: RelayListenerConfiguration,
        group: any EventLoopGroup,
        tapFactory: (any RelayTapFactory)? = nil,
        connectionIDs: ConnectionIDGenerator = ConnectionIDGenerator(),
        logger: Logger
    ) {
        var logger = logger
        logger[metadataKey: "listener"] = "\(configuration.name)"
        self.name = configuration.name
        self.logger = logger
        self.statisticsStore = RelayStatistics()
        let admission = ConnectionAdmission(
            settings: ConnectionAdmission.Settings(configuration), statistics: self.statisticsStore, logger: logger,
            logInterval: configuration.refusalLogInterval)
        self.admission = admission
        self.current = Mutex(
            Shared(
                configuration: configuration,
                statistics: self.statisticsStore,
                targetPool: TargetPool(
                    targets: configuration.targets, strategy: configuration.balance,
                    coolDown: configuration.targetCoolDown),
                tapFactory: tapFactory,
                logger: logger,
                admission: admission))
        self.group = group
        self.connectionIDs = connectionIDs
    }

    /// Binds every listen address; on failure closes what was bound and throws ``BindError``.
    public func start() async throws {
        var bound: [(address: Endpoint, channel: any Channel)] = []
        for address in self.configuration.listen {
            do {
                bound.append((address, try await self.bind(address)))
            } catch {
                for entry in bound { try? await entry.channel.close() }
                throw BindError(listener: self.name, address: address, underlying: error)
            }
        }
        self.state.withLock { $0.serverChannels = bound }
        for entry in bound {
            self.logger.info("listening", metadata: ["address": "\(entry.channel.localAddress?.displayText ?? "?")"])
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
    public func update(configuration: RelayListenerConfiguration, tapFactory: (any RelayTapFactory)?) async throws -> Update {
        var update = Update()
        update.newTargetPool = self.replaceSettings(configuration: configuration, tapFactory: tapFactory)
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
    /// - Precondition: `configuration.name` is this listener's name.
    @discardableResult
    public func replaceSettings(configuration: RelayListenerConfiguration, tapFactory: (any RelayTapFactory)?) -> Bool {
        precondition(configuration.name == self.name, "a listener keeps its name")
        return self.current.withLock { shared in
            let old = shared.configuration
            var newPool = false
            var pool = shared.targetPool
            if old.targets != configuration.targets || old.balance != configuration.balance
                || old.targetCoolDown != configuration.targetCoolDown
            {
                pool = TargetPool(
                    targets: configuration.targets, strategy: configuration.balance,
                    coolDown: configuration.targetCoolDown, carryingOver: shared.targetPool)
                newPool = true
            }
            shared = Shared(
                configuration: configuration, statistics: self.statisticsStore, targetPool: pool,
                tapFactory: tapFactory, logger: self.logger, admission: self.admission)
            self.admission.update(ConnectionAdmission.Settings(configuration))
            return newPool
        }
    }

    /// Closes the listening sockets of addresses no longer in ``configuration``; connections
    /// accepted on them carry on. Returns the addresses closed.
    public func closeRemovedAddresses() async -> [Endpoint] {
        let listen = self.configuration.listen
        let removed = self.state.withLock { state in
            var removed: [(address: Endpoint, channel: any Channel)] = []
            state.serverChannels.removeAll { entry in
                guard !listen.contains(entry.address) else { return false }
                removed.append(entry)
                return true
            }
            return removed
        }
        for entry in removed {
            try? await entry.channel.close()
            self.logger.info("stopped listening; connections accepted there carry on", metadata: ["address": "\(entry.address)"])
        }
        return removed.map(\.address)
    }

    /// Binds the addresses of ``configuration`` not bound yet (nothing once the listener stopped
    /// accepting). Returns the addresses bound; if one cannot be bound, the others still are and
    /// ``BindError`` is thrown for the first failure.
    public func bindAddedAddresses() async throws -> [Endpoint] {
        let (accepting, existing) = self.state.withLock { ($0.accepting, $0.serverChannels.map(\.address)) }
        guard accepting else { return [] }
        var bound: [Endpoint] = []
        var failure: BindError?
        for address in self.configuration.listen where !existing.contains(address) {
            do {
                let channel = try await self.bind(address)
                let kept = self.state.withLock { state in
                    guard state.accepting else { return false }
                    state.serverChannels.append((address, channel))
                    return true
                }
                guard kept else {
                    try? await channel.close()
                    continue
                }
                bound.append(address)
                self.logger.info("listening", metadata: ["address": "\(channel.localAddress?.displayText ?? "?")"])
            } catch {
                failure = failure ?? BindError(listener: self.name, address: address, underlying: error)
            }
        }
        if let failure { throw failure }
        return bound
    }

    /// The addresses actually bound (useful with port 0).
    public var localAddresses: [SocketAddress] {
        self.state.withLock { $0.serverChannels.compactMap(\.channel.localAddress) }
    }

    /// Number of client connections currently open.
    public var openConnections: Int {
        self.state.withLock { $0.connections.count }
    }

    /// Closes the listening sockets; open connections carry on.
    public func stopAccepting() async {
        let channels = self.state.withLock { state in
            state.accepting = false
            let channels = state.serverChannels.map(\.channel)
            state.serverChannels = []
            return channels
        }
        for channel in channels {
            try? await channel.close()
        }
    }

    /// Waits until every open connection has closed by itself, or `timeout` passed.
    /// Returns whether all connections closed.
    public func waitForConnectionsToClose(timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = self.state.withLock { state in
                        if state.connections.isEmpty { return true }
                        state.idleWaiters.append(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            if !first {
                // Release the waiter so the task group can finish.
                let waiters = self.state.withLock { state in
                    defer { state.idleWaiters = [] }
                    return state.idleWaiters
                }
                for waiter in waiters { waiter.resume() }
            }
            group.cancelAll()
            return first && self.openConnections == 0
        }
    }

    /// Closes every open connection at once.
    public func closeAllConnections() async {
        let channels = self.state.withLock { Array($0.connections.values) }
        for channel in channels {
            channel.close(promise: nil)
        }
    }

    private func bind(_ address: Endpoint) async throws -> any Channel {
        var bootstrap = ServerBootstrap(group: self.group)
            .serverChannelOption(.backlog, value: self.configuration.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
        if let size = self.configuration.socketBufferSize {
            // The listening socket's buffer sets the window scale accepted connections start with;
            // the accepted sockets get the size current at accept time (see accept).
            bootstrap = bootstrap.serverChannelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(size))
        }
        bootstrap = bootstrap
            .childChannelInitializer { [weak self] channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let self else {
                        channel.close(promise: nil)
                        return
                    }
                    self.accept(channel, shared: self.shared)
                }
            }
        if let literal = address.literalAddress {
            return try await bootstrap.bind(to: literal).get()
        }
        return try await bootstrap.bind(host: address.host, port: address.port).get()
    }

    private func accept(_ channel: any Channel, shared: Shared) {
        // Refused (not allowed, over a limit): closed before any target connect, nothing relayed.
        guard case .admitted(let ticket) = shared.admission.admit(channel.remoteAddress) else {
            channel.close(promise: nil)
            return
        }
        let key = ObjectIdentifier(channel)
        let admitted = self.state.withLock { state in
            guard state.accepting else { return false }
            state.connections[key] = channel
            return true
        }
        guard admitted else {
            // Accepted while the listener was being stopped.
            shared.admission.release(ticket)
            channel.close(promise: nil)
            return
        }
        shared.statistics.connectionAccepted()
        if let size = shared.configuration.socketBufferSize, let options = channel.syncOptions {
            try? options.setOption(.socketOption(.so_sndbuf), value: SocketOptionValue(size))
            try? options.setOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(size))
        }
        channel.closeFuture.whenComplete { [weak self] _ in
            shared.statistics.connectionClosed()
            shared.admission.release(ticket)
            self?.connectionClosed(key)
        }
        let handler = RelayConnectHandler(listener: shared, connectionID: self.connectionIDs.next())
        do {
            try channel.pipeline.syncOperations.addHandler(handler)
        } catch {
            channel.close(promise: nil)
        }
    }

    private func connectionClosed(_ key: ObjectIdentifier) {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.connections[key] = nil
            guard state.connections.isEmpty else { return [] }
            defer { state.idleWaiters = [] }
            return state.idleWaiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
