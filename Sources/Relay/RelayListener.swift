import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Accepts client connections on a listener's addresses and relays each one to a target.
///
/// Both channels of a relayed connection share one event loop, have `autoRead` off (see
/// ``RelayGlueHandler`` for the read-on-write-success rule) and allow remote half-closure.
public final class RelayListener: Sendable {
    /// What the connection handlers of this listener share.
    final class Shared: Sendable {
        let configuration: RelayListenerConfiguration
        let statistics: RelayStatistics
        let targetPool: TargetPool
        let tapFactory: (any RelayTapFactory)?
        let logger: Logger

        init(
            configuration: RelayListenerConfiguration, statistics: RelayStatistics, targetPool: TargetPool,
            tapFactory: (any RelayTapFactory)?, logger: Logger
        ) {
            self.configuration = configuration
            self.statistics = statistics
            self.targetPool = targetPool
            self.tapFactory = tapFactory
            self.logger = logger
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
        var serverChannels: [any Channel] = []
        var connections: [ObjectIdentifier: any Channel] = [:]
        var accepting = true
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    public var configuration: RelayListenerConfiguration { self.shared.configuration }
    public var statistics: RelayStatistics { self.shared.statistics }
    public var targetPool: TargetPool { self.shared.targetPool }

    private let shared: Shared
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
        self.shared = Shared(
            configuration: configuration,
            statistics: RelayStatistics(),
            targetPool: TargetPool(
                targets: configuration.targets, strategy: configuration.balance,
                coolDown: configuration.targetCoolDown),
            tapFactory: tapFactory,
            logger: logger)
        self.group = group
        self.connectionIDs = connectionIDs
    }

    /// Binds every listen address; on failure closes what was bound and throws ``BindError``.
    public func start() async throws {
        var bound: [any Channel] = []
        for address in self.configuration.listen {
            do {
                bound.append(try await self.bind(address))
            } catch {
                for channel in bound { try? await channel.close() }
                throw BindError(listener: self.configuration.name, address: address, underlying: error)
            }
        }
        self.state.withLock { $0.serverChannels = bound }
        for channel in bound {
            self.shared.logger.info("listening", metadata: ["address": "\(channel.localAddress?.displayText ?? "?")"])
        }
    }

    /// The addresses actually bound (useful with port 0).
    public var localAddresses: [SocketAddress] {
        self.state.withLock { $0.serverChannels.compactMap(\.localAddress) }
    }

    /// Number of client connections currently open.
    public var openConnections: Int {
        self.state.withLock { $0.connections.count }
    }

    /// Closes the listening sockets; open connections carry on.
    public func stopAccepting() async {
        let channels = self.state.withLock { state in
            state.accepting = false
            let channels = state.serverChannels
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
        let shared = self.shared
        var bootstrap = ServerBootstrap(group: self.group)
            .serverChannelOption(.backlog, value: self.configuration.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
        if let size = self.configuration.socketBufferSize {
            bootstrap = bootstrap
                .serverChannelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(size))
                .childChannelOption(.socketOption(.so_sndbuf), value: SocketOptionValue(size))
                .childChannelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(size))
        }
        bootstrap = bootstrap
            .childChannelInitializer { [weak self] channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let self else {
                        channel.close(promise: nil)
                        return
                    }
                    self.accept(channel, shared: shared)
                }
            }
        if let literal = address.literalAddress {
            return try await bootstrap.bind(to: literal).get()
        }
        return try await bootstrap.bind(host: address.host, port: address.port).get()
    }

    private func accept(_ channel: any Channel, shared: Shared) {
        let key = ObjectIdentifier(channel)
        let admitted = self.state.withLock { state in
            guard state.accepting, state.connections.count < shared.configuration.maxConnections else {
                return false
            }
            state.connections[key] = channel
            return true
        }
        guard admitted else {
            shared.statistics.connectionRejected()
            shared.logger.warning(
                "connection limit reached; closing the new client connection",
                metadata: ["max_connections": "\(shared.configuration.maxConnections)"])
            channel.close(promise: nil)
            return
        }
        shared.statistics.connectionAccepted()
        channel.closeFuture.whenComplete { [weak self] _ in
            shared.statistics.connectionClosed()
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
