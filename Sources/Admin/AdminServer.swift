import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The operator's HTTP endpoint: `/` (the status page), `/metrics` (Prometheus text format
/// 0.0.4), `/health`, `/ready`.
///
/// ```swift
/// // The sources that know the relay, the decoder and Riemann live in Tee (Sources/Tee/Metrics):
/// // Admin knows only MetricsSnapshot, so it stays a leaf.
/// let exporter = MetricsExporter(sources: [
///     RelayMetricsSource(listeners: listeners),
///     RiemannMetricsSource(client: riemann),
///     ProcessMetricsSource(),
/// ])
/// let admin = AdminServer(
///     configuration: .init(host: "127.0.0.1", port: 9810), exporter: exporter,
///     healthy: { daemon.isServing }, ready: { daemon.readiness }, logger: logger)
/// try await admin.start()
/// …
/// await admin.shutdown()
/// ```
///
/// - `GET /`: ``StatusPage``, HTML for people, from the same collection as `/metrics`; rendered
///   on the thread pool.
/// - `GET /metrics`: every source of the exporter collected at request time, rendered on a
///   thread pool, never on the event loop.
/// - `GET /health`: `200 ok` while `healthy()` is true, else `503`.
/// - `GET /ready`: `200 ok` while `ready()` has no problem, else `503` with one problem a line.
/// - Other paths get `404`; other methods than `GET` and `HEAD` on these paths get `405`.
///
/// Isolated from the load and the abuse it reports on: by default it runs on an event loop of
/// its own (a busy relay or decoder cannot delay `/health`); each connection must send a
/// complete request within ``Configuration/requestTimeout`` (idle and slow-loris sockets are
/// closed); and when ``Configuration/maximumConnections`` are open a new connection takes the
/// slot of the one that waited longest for a request (``AdminConnectionTable``), so idle sockets
/// never lock a probe out.
///
/// The closures are called on the admin event loop for every request and must be quick.
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
        var table: AdminConnectionTable<ObjectIdentifier>
        var started = false
        var shutDown = false
    }

    public let configuration: Configuration
    private let routes: AdminRoutes
    private let group: any EventLoopGroup
    /// The event loop the server created for itself (when not given a group), shut down with it.
    private let ownGroup: MultiThreadedEventLoopGroup?
    private let logger: Logger
    private let state: Mutex<State>

    /// - Parameters:
    ///   - configuration: address and limits.
    ///   - exporter: the sources behind `/metrics`.
    ///   - healthy: answers `/health`; e.g. listeners bound and not shutting down.
    ///   - ready: answers `/ready`; e.g. targets and outputs reachable.
    ///   - group: event loops for the HTTP connections; `nil` (the default): a thread of the
    ///     server's own, so that nothing else running on shared loops can delay an answer.
    ///   - threadPool: where `/metrics` is rendered; must be started (the singleton is).
    ///   - logger: receives the bound address and bind errors.
    public init(
        configuration: Configuration = Configuration(),
        exporter: MetricsExporter,
        healthy: @escaping @Sendable () -> Bool = { true },
        ready: @escaping @Sendable () -> Readiness = { .ready },
        group: (any EventLoopGroup)? = nil,
        threadPool: NIOThreadPool = .singleton,
        logger: Logger = Logger(label: "zabbix-tee.admin")
    ) {
        self.configuration = configuration
        self.routes = AdminRoutes(
            exporter: exporter,
            statusPage: StatusPageEndpoint(exporter: exporter),
            healthy: healthy,
            ready: ready,
            threadPool: threadPool
        )
        if let group {
            self.group = group
            self.ownGroup = nil
        } else {
            let own = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            self.group = own
            self.ownGroup = own
        }
        self.logger = logger
        self.state = Mutex(State(table: AdminConnectionTable(capacity: configuration.maximumConnections)))
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
                        try pipeline.addHandler(
                            AdminHTTPHandler(
                                routes: routes,
                                maximumBodyBytes: configuration.maximumRequestBodyBytes,
                                requestTimeout: TimeAmount(configuration.requestTimeout),
                                responseTimeout: TimeAmount(configuration.responseTimeout),
                                hooks: self.hooks(for: channel)
                            )
                        )
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
        let host = channel.localAddress?.ipAddress ?? configuration.host
        let port = channel.localAddress?.port ?? configuration.port
        self.logger.info(
            "Admin endpoint listening",
            metadata: ["address": "\(host.contains(":") ? "[\(host)]" : host):\(port)"]
        )
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
        try? await self.ownGroup?.shutdownGracefully()
    }

    /// Remembers a connection until it closes; false (close it) after shutdown or when every
    /// slot is answering a request. When all ``Configuration/maximumConnections`` slots are taken
    /// the connection that waited longest for a request is closed to make room.
    private func track(_ channel: any Channel) -> Bool {
        let id = ObjectIdentifier(channel)
        let (accepted, evicted) = self.state.withLock { state -> (Bool, (any Channel)?) in
            guard !state.shutDown else { return (false, nil) }
            switch state.table.admit(id, now: .now()) {
            case .refused:
                return (false, nil)
            case .accepted:
                state.connections[id] = channel
                return (true, nil)
            case .acceptedEvicting(let other):
                state.connections[id] = channel
                return (true, state.connections.removeValue(forKey: other))
            }
        }
        evicted?.close(promise: nil)
        guard accepted else { return false }
        channel.closeFuture.whenComplete { [self] _ in
            self.state.withLock { state in
                // An evicted connection's slot already belongs to another one: remove only our own.
                guard state.connections[id].map({ $0 === channel }) == true else { return }
                state.connections[id] = nil
                state.table.remove(id)
            }
        }
        return true
    }

    /// The callbacks a connection's handler reports its requests and responses through.
    private func hooks(for channel: any Channel) -> AdminHTTPHandler.Hooks {
        let id = ObjectIdentifier(channel)
        return AdminHTTPHandler.Hooks(
            requestReceived: { [self] in self.state.withLock { $0.table.requestReceived(id) } },
            responseSent: { [self] in self.state.withLock { $0.table.responseSent(id, now: .now()) } }
        )
    }
}
