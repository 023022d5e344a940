import Admin
import Logging
import NIOCore
import NIOPosix
import Relay
import Riemann
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The running tee: relay listeners, the side pipeline that decodes their traffic, the Riemann
/// output and the admin endpoint, built from a configuration and run as `Service`s of a
/// `ServiceGroup` (``makeServiceGroup(gracefulShutdownSignals:)``), in dependency order: the
/// admin endpoint, Graphite, Riemann, the side pipeline, the listeners. The group starts them in
/// that order and, on SIGTERM/SIGINT, shuts them down gracefully in the reverse one: stop
/// accepting; let open connections finish for up to `shutdown_timeout`, then close them; decode
/// what is queued and save the item catalog; give Riemann up to `riemann.flush_timeout` to
/// acknowledge what is queued, then Graphite up to `graphite.flush_timeout`; stop the admin
/// endpoint. A service that fails (a listener that cannot be
/// bound) shuts the others down the same way.
///
/// ``reload(path:)`` (on SIGHUP) applies a new configuration file without dropping connections;
/// see ``ConfigurationReloadPlan`` for what changes live and what needs a restart.
public final class TeeDaemon: Sendable {
    /// The configuration in force (the start one, or the one the last reload applied).
    public var configuration: TeeConfiguration { self.running.value.withLock { $0.configuration } }
    /// The listeners accepting connections (a reload adds and removes some).
    public var listeners: [RelayListener] { self.running.value.withLock { $0.listeners } }
    /// Reload outcomes, reported on `/metrics`.
    public let reloads = ReloadStatistics()
    /// The side pipeline; `nil` when no listener decodes.
    public let pipeline: SidePipeline?
    /// The Riemann output; `nil` without a `riemann:` section.
    public let riemann: RiemannClient?
    public let sink: RiemannSink
    /// The Graphite output, fed the same values; `nil` without a `graphite:` section.
    public let graphite: GraphiteSink?
    public let admin: AdminServer?
    let group: any EventLoopGroup
    /// The relay's event loops (``RelayEngine``): `threads` of them, the process-wide
    /// `max_connections`.
    let engine: RelayEngine
    let logger: Logger
    let connectionIDs = ConnectionIDGenerator()
    let running: RunningBox
    /// The recording writers of listeners with `record:`.
    let recorders: Recorders

    /// What a reload replaces.
    struct Running {
        var configuration: TeeConfiguration
        var listeners: [RelayListener]
        /// Listeners a reload removed whose connections may still be open; shutdown waits for them.
        var retired: [RelayListener] = []
        /// Listeners bound and not shutting down: `/health`, `/ready`, and whether a reload applies.
        var serving = false
    }

    /// The file the listener service reloads on SIGHUP; `nil`: no reloads.
    public let configurationPath: String?

    /// - Parameter configurationPath: the file `configuration` was loaded from, reloaded on
    ///   SIGHUP. `nil` leaves SIGHUP alone.
    public init(
        configuration: TeeConfiguration,
        configurationPath: String? = nil,
        group: any EventLoopGroup,
        logger: Logger
    ) {
        self.configurationPath = configurationPath
        self.group = group
        self.logger = logger
        let engine = RelayEngine(
            threads: configuration.threads ?? CPUAffinity.availableCPUs,
            maxConnections: configuration.maxConnections
        )
        self.engine = engine
        self.riemann = configuration.riemann.map {
            RiemannClient(configuration: $0, eventLoopGroup: group, logger: logger)
        }
        let sink = RiemannSink(mapper: EventMapper(configuration: configuration.mapping), client: self.riemann)
        self.sink = sink
        self.graphite = configuration.graphite.map {
            GraphiteSink(
                configuration: $0,
                mapper: EventMapper(configuration: configuration.mapping),
                client: RiemannClient(
                    configuration: $0.client,
                    wireFormat: $0.wireProtocol.wireFormat,
                    eventLoopGroup: group,
                    logger: logger
                )
            )
        }
        let sinks: any ItemValueSink = self.graphite.map { ItemValueSinks(sinks: [sink, $0]) } ?? sink
        let decodes = configuration.listeners.contains { configuration.options(for: $0.name).decode }
        self.pipeline =
            decodes
            ? SidePipeline(configuration: configuration.decode, sink: sinks, logger: logger, apiEventLoop: group.next())
            : nil
        let pipeline = self.pipeline
        let recorders = Recorders(logger: logger)
        self.recorders = recorders
        let ids = self.connectionIDs
        let listeners = configuration.listeners.map { listener in
            RelayListener(
                configuration: listener,
                engine: engine,
                tapFactory: Self.tapFactory(
                    configuration.options(for: listener.name),
                    pipeline: pipeline,
                    recorders: recorders
                ),
                connectionIDs: ids,
                logger: logger
            )
        }
        let running = RunningBox(Running(configuration: configuration, listeners: listeners))
        self.running = running
        if let adminConfiguration = configuration.admin {
            var sources: [any MetricsSource] = [
                RelayMetricsSource(listeners: { running.value.withLock { $0.listeners } }), ProcessMetricsSource(),
                self.reloads.metricsSource, WriterMetricsSource(log: .standardError, recordings: recorders.statistics),
            ]
            if let riemann = self.riemann { sources.append(RiemannMetricsSource(client: riemann)) }
            if let graphite = self.graphite { sources.append(RiemannMetricsSource(graphite: graphite)) }
            if let pipeline = self.pipeline {
                sources.append(
                    DecodeMetricsSource(statistics: pipeline.statistics, catalog: pipeline.catalog, sink: self.sink)
                )
                sources.append(CatalogAPIMetricsSource(pipeline: pipeline))
            }
            let riemann = self.riemann
            // No group: the admin endpoint runs on an event loop of its own, so a saturated relay
            // or decoder never delays /health.
            self.admin = AdminServer(
                configuration: adminConfiguration,
                exporter: MetricsExporter(sources: sources),
                healthy: { running.value.withLock { $0.serving } },
                ready: {
                    ReadinessCheck.readiness(
                        serving: running.value.withLock { $0.serving },
                        listeners: running.value.withLock { $0.listeners }.map(ReadinessCheck.listener),
                        riemannConnected: riemann.map { $0.statistics.connectedServer != nil }
                    )
                },
                logger: logger
            )
        } else {
            self.admin = nil
        }
    }

    /// The taps of a listener with `options`: the decoder's (when it decodes and there is a
    /// decoder) and the recorder's.
    static func tapFactory(
        _ options: TeeConfiguration.ListenerOptions,
        pipeline: SidePipeline?,
        recorders: Recorders
    ) -> (any RelayTapFactory)? {
        var taps: [any RelayTapFactory] = []
        if options.decode, let pipeline { taps.append(pipeline.tapFactory(passiveProxy: options.passiveProxy)) }
        if let record = options.record { taps.append(recorders.tapFactory(for: record)) }
        return taps.isEmpty ? nil : (taps.count == 1 ? taps[0] : CompositeTapFactory(taps))
    }

    /// Listeners bound and not shutting down.
    var isServing: Bool {
        get { self.running.value.withLock { $0.serving } }
        set { self.running.value.withLock { $0.serving = newValue } }
    }

    /// The services, in dependency order (each may rely on those before it): the admin
    /// endpoint, Graphite, Riemann, the side pipeline, the listeners.
    public func makeServices() -> [any Service] {
        var services: [any Service] = []
        var prerequisites: [AsyncStream<Void>] = []
        let (listenersBound, bound) = AsyncStream.makeStream(of: Void.self)
        if let admin = self.admin { services.append(AdminService(admin: admin, listenersBound: listenersBound)) }
        if let graphite = self.graphite {
            let (started, continuation) = AsyncStream.makeStream(of: Void.self)
            prerequisites.append(started)
            services.append(GraphiteService(client: graphite.client, daemon: self, started: continuation))
        }
        if let riemann = self.riemann {
            let (started, continuation) = AsyncStream.makeStream(of: Void.self)
            prerequisites.append(started)
            services.append(RiemannService(riemann: riemann, daemon: self, started: continuation))
        }
        if let pipeline = self.pipeline {
            let (started, continuation) = AsyncStream.makeStream(of: Void.self)
            prerequisites.append(started)
            services.append(SidePipelineService(pipeline: pipeline, daemon: self, started: continuation))
        }
        services.append(RelayService(daemon: self, prerequisites: prerequisites, bound: bound))
        return services
    }

    /// A group that runs ``makeServices()`` until one of `gracefulShutdownSignals` (or
    /// `triggerGracefulShutdown()`), and shuts every service down gracefully, in reverse order,
    /// when one of them fails; `run()` then throws that service's error.
    public func makeServiceGroup(gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint]) -> ServiceGroup {
        ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: self.makeServices().map {
                    ServiceGroupConfiguration.ServiceConfiguration(
                        service: $0,
                        failureTerminationBehavior: .gracefullyShutdownGroup
                    )
                },
                gracefulShutdownSignals: gracefulShutdownSignals,
                logger: self.logger
            )
        )
    }
}

/// The daemon's ``TeeDaemon/Running`` state, shareable with metrics closures.
final class RunningBox: Sendable {
    let value: Mutex<TeeDaemon.Running>
    init(_ running: TeeDaemon.Running) { self.value = Mutex(running) }
}
