import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Relay
import Synchronization

/// The operator's HTTP endpoint: `/metrics` (Prometheus text format 0.0.4), `/health`, `/ready`.
///
/// ```swift
/// let exporter = MetricsExporter(sources: [
///     RelayMetricsSource(listeners: listeners),
///     RiemannMetricsSource(client: riemann),
///     ProcessMetricsSource(),
/// ])
/// let admin = AdminServer(
///     configuration: .init(host: "127.0.0.1", port: 9810), exporter: exporter,
///     healthy: { daemon.isServing }, ready: { daemon.listenersBound }, logger: logger)
/// try await admin.start()
/// …
/// await admin.shutdown()
/// ```
///
/// - `GET /metrics`: every source of the exporter collected at request time, rendered on a
///   thread pool, never on the event loop.
/// - `GET /health`: `200 ok` while `healthy()` is true, else `503`.
/// - `GET /ready`: `200 ok` while `ready()` is true, else `503`.
/// - Other paths get `404`; other methods than `GET` and `HEAD` on these paths get `405`.
///
/// The closures are called on an event loop for every request and must be quick.
public final class AdminServer: Sendable {
    /// The admin address could not be bound.
    public struct BindError: Error, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var underlying: any Error
        public var description: String {
            "admin server: cannot listen on \(self.host):\(self.port): \(self.underlying)"
        }
    }

    private struct State {
        var serverChannel: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var started = false
        var shutDown = false
    }

    public let configuration: Configuration
    private let routes: AdminRoutes
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state = Mutex(State())

    /// - Parameters:
    ///   - configuration: address and limits.
    ///   - exporter: the sources behind `/metrics`.
    ///   - healthy: answers `/health`; e.g. listeners bound and not shutting down.
    ///   - ready: answers `/ready`; e.g. listeners bound.
    ///   - group: event loops for the HTTP connections.
    ///   - threadPool: where `/metrics` is rendered; must be started (the singleton is).
    ///   - logger: receives the bound address and bind errors.
    public init(
        configuration: Configuration = Configuration(),
        exporter: MetricsExporter,
        healthy: @escaping @Sendable () -> Bool = { true },
        ready: @escaping @Sendable () -> Bool = { true },
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        threadPool: NIOThreadPool = .singleton,
        logger: Logger = Logger(label: "zabbix-tee.admin")
    ) {
        self.configuration = configuration
        self.routes = AdminRoutes(exporter: exporter, healthy: healthy, ready: ready, threadPool: threadPool)
        self.group = group
        self.logger = logger
    }

    /// Binds the configured address and starts serving. Throws ``BindError``. Once started, further
    /// calls do nothing; after ``shutdown()`` the server stays down.
    public func start() async throws {
        let first = self.state.withLock { state in
            defer { state.started = true }
            return !state.started && !state.shutDown
        }
        guard first else { return }
        let routes = self.routes
        let configuration = self.configuration
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: self.group)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        guard self.track(channel) else {
                            channel.close(promise: nil)
                            return
                        }
                        try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                        try pipeline.addHandler(IdleStateHandler(readTimeout: configuration.idleTimeout), position: .first)
                        try pipeline.addHandler(
                            AdminHTTPHandler(routes: routes, maximumBodyBytes: configuration.maximumRequestBodyBytes))
                    }
                }
                .bind(host: configuration.host, port: configuration.port)
                .get()
        } catch {
            self.state.withLock { $0.started = false }  // a later start() may try again
            throw BindError(host: configuration.host, port: configuration.port, underlying: error)
        }
        let alreadyShutDown = self.state.withLock { state in
            if state.shutDown { return true }
            state.serverChannel = channel
            return false
        }
        if alreadyShutDown {
            try? await channel.close()
            return
        }
        self.logger.info(
            "Admin endpoint listening",
            metadata: ["address": "\(channel.localAddress?.displayText ?? "?")"])
    }

    /// The bound address once ``start()`` returned (useful with port 0).
    public var localAddress: SocketAddress? {
        self.state.withLock { $0.serverChannel?.localAddress }
    }

    /// Stops accepting and closes open admin connections. Safe to call more than once.
    public func shutdown() async {
        let (server, connections) = self.state.withLock { state in
            state.shutDown = true
            let server = state.serverChannel
            state.serverChannel = nil
            return (server, Array(state.connections.values))
        }
        try? await server?.close()
        for connection in connections {
            try? await connection.close()
        }
    }

    /// Remembers a connection until it closes; false (close it) after shutdown or when
    /// ``Configuration/maximumConnections`` are open.
    private func track(_ channel: any Channel) -> Bool {
        let id = ObjectIdentifier(channel)
        let accepted = self.state.withLock { state in
            guard !state.shutDown, state.connections.count < self.configuration.maximumConnections else { return false }
            state.connections[id] = channel
            return true
        }
        guard accepted else { return false }
        channel.closeFuture.whenComplete { [self] _ in
            _ = self.state.withLock { $0.connections.removeValue(forKey: id) }
        }
        return true
    }
}
