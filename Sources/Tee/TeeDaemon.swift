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
/// output and the admin endpoint, started and stopped in the right order.
///
/// As a `Service` it starts everything, then waits for a graceful shutdown (SIGTERM/SIGINT
/// through `ServiceGroup`): stop accepting; let open connections finish for up to
/// `shutdown_timeout`, then close them; decode what is queued and save the item catalog; give
/// Riemann up to `riemann.flush_timeout` to acknowledge what is queued; stop the admin endpoint.
///
/// ``reload(path:)`` (on SIGHUP) applies a new configuration file without dropping connections;
/// see ``ConfigurationReloadPlan`` for what changes live and what needs a restart.
public final class TeeDaemon: Service, Sendable {
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
    let state = LifecycleState()
    let running: RunningBox
    /// Held by a reload while it applies, and by the shutdown from its start on.
    let reloadLock = AsyncLock()
    /// The self-monitoring loop (with a Riemann output), cancelled by the shutdown.
    let selfMonitoring = Mutex<Task<Void, Never>?>(nil)
    /// The recording writers of listeners with `record:`.
    let recorders: Recorders

    /// What a reload replaces.
    struct Running {
        var configuration: TeeConfiguration
        var listeners: [RelayListener]
        /// Listeners a reload removed whose connections may still be open; shutdown waits for them.
        var retired: [RelayListener] = []
    }

    /// The file ``run()`` reloads on SIGHUP; `nil`: no reloads.
    public let configurationPath: String?

    /// - Parameter configurationPath: the file `configuration` was loaded from; ``run()`` reloads
    ///   it on SIGHUP. `nil` leaves SIGHUP alone.
    public init(configuration: TeeConfiguration, configurationPath: String? = nil, group: any EventLoopGroup, logger: Logger) {
        self.configurationPath = configurationPath
        self.group = group
        self.logger = logger
        let engine = RelayEngine(
            threads: configuration.threads ?? CPUAffinity.availableCPUs, maxConnections: configuration.maxConnections)
        self.engine = engine
        self.riemann = configuration.riemann.map {
            RiemannClient(configuration: $0, eventLoopGroup: group, logger: logger)
        }
        let sink = RiemannSink(mapper: EventMapper(configuration: configuration.mapping), client: self.riemann)
        self.sink = sink
        self.graphite = configuration.graphite.map {
            GraphiteSink(
                configuration: $0, mapper: EventMapper(configuration: configuration.mapping),
                client: RiemannClient(configuration: $0.client, wireFormat: $0.wireProtocol.wireFormat, eventLoopGroup: group, logger: logger))
        }
        let sinks: any ItemValueSink = self.graphite.map { ItemValueSinks(sinks: [sink, $0]) } ?? sink
        let decodes = configuration.listeners.contains { configuration.options(for: $0.name).decode }
        self.pipeline = decodes ? SidePipeline(configuration: configuration.decode, sink: sinks, logger: logger, apiEventLoop: group.next()) : nil
        let pipeline = self.pipeline
        let recorders = Recorders(logger: logger)
        self.recorders = recorders
        let ids = self.connectionIDs
        let listeners = configuration.listeners.map { listener in
            RelayListener(
                configuration: listener, engine: engine,
                tapFactory: Self.tapFactory(configuration.options(for: listener.name), pipeline: pipeline, recorders: recorders),
                connectionIDs: ids, logger: logger)
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
                sources.append(DecodeMetricsSource(statistics: pipeline.statistics, catalog: pipeline.catalog, sink: self.sink))
                sources.append(CatalogAPIMetricsSource(pipeline: pipeline))
            }
            let state = self.state
            let riemann = self.riemann
            // No group: the admin endpoint runs on an event loop of its own, so a saturated relay
            // or decoder never delays /health.
            self.admin = AdminServer(
                configuration: adminConfiguration, exporter: MetricsExporter(sources: sources),
                healthy: { state.isServing },
                ready: {
                    ReadinessCheck.readiness(
                        serving: state.isServing,
                        listeners: running.value.withLock { $0.listeners }.map(ReadinessCheck.listener),
                        riemannConnected: riemann.map { $0.statistics.connectedServer != nil })
                },
                logger: logger)
        } else {
            self.admin = nil
        }
    }

    /// The taps of a listener with `options`: the decoder's (when it decodes and there is a
    /// decoder) and the recorder's.
    static func tapFactory(
        _ options: TeeConfiguration.ListenerOptions, pipeline: SidePipeline?, recorders: Recorders
    ) -> (any RelayTapFactory)? {
        var taps: [any RelayTapFactory] = []
        if options.decode, let pipeline { taps.append(pipeline.tapFactory(passiveProxy: options.passiveProxy)) }
        if let record = options.record { taps.append(recorders.tapFactory(for: record)) }
        return taps.isEmpty ? nil : (taps.count == 1 ? taps[0] : CompositeTapFactory(taps))
    }

    /// Loads the catalog, starts the pipeline and the Riemann client, binds every listener and the
    /// admin endpoint. Throws (naming the listener and address) if one cannot be bound; what was
    /// started is stopped again.
    public func start() async throws {
        if let pipeline = self.pipeline {
            if let path = self.configuration.decode.catalogPath {
                do {
                    switch try pipeline.catalog.load(path: path) {
                    case .missing:
                        self.logger.info("no item catalog file yet; starting with an empty one", metadata: ["path": "\(path)"])
                    case .loaded(let entries):
                        self.logger.info("item catalog loaded", metadata: ["path": "\(path)", "entries": "\(entries)"])
                    case .setAside(let aside, let reason):
                        self.logger.error(
                            "cannot load the item catalog; the file is kept aside and the tee starts with an empty one (itemid-only values wait until agents and proxies refresh it)",
                            metadata: ["path": "\(path)", "kept_as": "\(aside)", "error": "\(reason)"])
                    }
                } catch {
                    self.logger.error(
                        "cannot load the item catalog nor set the file aside; starting with an empty one that is never saved over it",
                        metadata: ["error": "\(error)"])
                }
            }
            pipeline.listenersChanged(self.configuration.listeners.map { ($0.name, $0.listen) })
            pipeline.start()
        }
        self.riemann?.start()
        self.graphite?.client.start()
        var started: [RelayListener] = []
        do {
            for listener in self.listeners {
                try await listener.start()
                started.append(listener)
            }
            try await self.admin?.start()
        } catch {
            for listener in started { await listener.stopAccepting() }
            await self.engine.shutdown()
            await self.stopSidePipeline()
            await self.recorders.shutdown()
            await self.admin?.shutdown()
            throw error
        }
        self.state.started.store(true, ordering: .relaxed)
        if let riemann = self.riemann {
            let task = Task { await self.runSelfMonitoring(riemann: riemann) }
            self.selfMonitoring.withLock { $0 = task }
        }
    }

    /// Starts, reloads ``configurationPath`` on every SIGHUP, and shuts down gracefully on
    /// SIGTERM/SIGINT (through `ServiceGroup`).
    public func run() async throws {
        guard let path = self.configurationPath else {
            try await self.start()
            try? await gracefulShutdown()
            await self.shutdown()
            return
        }
        // Trapped before start: a SIGHUP while binding waits for the start instead of killing us.
        let signals = await UnixSignalsSequence(trapping: .sighup)
        try await self.start()
        for await _ in signals.cancelOnGracefulShutdown() {
            self.logger.info("SIGHUP: reloading the configuration", metadata: ["path": "\(path)"])
            await self.reload(path: path)
        }
        await self.shutdown()
    }

    /// The graceful shutdown described on the type.
    public func shutdown() async {
        self.state.stopping.store(true, ordering: .relaxed)
        await self.reloadLock.lock()  // a reload under way finishes first; none starts after this
        let (listeners, configuration) = self.running.value.withLock { ($0.listeners + $0.retired, $0.configuration) }
        for listener in listeners { await listener.stopAccepting() }
        let open = listeners.reduce(0) { $0 + $1.openConnections }
        if open > 0 {
            self.logger.info(
                "shutting down: waiting for open connections to finish",
                metadata: ["connections": "\(open)", "timeout": "\(configuration.shutdownTimeout)"])
        }
        let allClosed = await withTaskGroup(of: Bool.self) { group in
            for listener in listeners {
                let timeout = configuration.shutdownTimeout
                group.addTask { await listener.waitForConnectionsToClose(timeout: timeout) }
            }
            return await group.reduce(true) { $0 && $1 }
        }
        if !allClosed {
            let left = listeners.reduce(0) { $0 + $1.openConnections }
            self.logger.warning("shutdown timeout reached; closing the remaining connections", metadata: ["connections": "\(left)"])
            for listener in listeners { await listener.closeAllConnections() }
            _ = await withTaskGroup(of: Bool.self) { group in
                for listener in listeners { group.addTask { await listener.waitForConnectionsToClose(timeout: .seconds(5)) } }
                return await group.reduce(true) { $0 && $1 }
            }
        }
        if let task = self.selfMonitoring.withLock({ $0 }) {
            task.cancel()
            await task.value
        }
        await self.engine.shutdown()
        await self.recorders.shutdown()
        await self.stopSidePipeline()
        await self.admin?.shutdown()
        await self.reloadLock.unlock()
    }

    private func stopSidePipeline() async {
        await self.pipeline?.shutdown()
        if let riemann = self.riemann {
            let queued = riemann.statistics.queue.depth
            if queued > 0 {
                self.logger.info("flushing queued events to Riemann", metadata: ["events": "\(queued)"])
            }
            let timeout = self.configuration.riemannFlushTimeout  // a reload may have changed it
            await riemann.shutdown(deadline: .now() + TimeAmount(timeout))
            let dropped = riemann.statistics.queue.dropped[.shutdown] ?? 0
            if dropped > 0 {
                self.logger.warning("Riemann did not acknowledge every queued event before the flush timeout", metadata: ["dropped": "\(dropped)"])
            }
        }
        if let graphite = self.graphite, let timeout = self.configuration.graphite?.flushTimeout {
            await graphite.client.shutdown(deadline: .now() + TimeAmount(timeout))
        }
    }
}

/// The daemon's ``TeeDaemon/Running`` state, shareable with metrics closures.
final class RunningBox: Sendable {
    let value: Mutex<TeeDaemon.Running>
    init(_ running: TeeDaemon.Running) { self.value = Mutex(running) }
}

/// A lock held across suspension points (a reload and the shutdown never overlap).
actor AsyncLock {
    private var locked = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func lock() async {
        if !self.locked {
            self.locked = true
            return
        }
        await withCheckedContinuation { self.waiters.append($0) }
    }

    func unlock() {
        if self.waiters.isEmpty {
            self.locked = false
        } else {
            self.waiters.removeFirst().resume()  // ownership passes to the next waiter
        }
    }
}

/// Whether the daemon has started and whether it is stopping; read by `/health` and `/ready`.
final class LifecycleState: Sendable {
    let started = Atomic<Bool>(false)
    let stopping = Atomic<Bool>(false)

    /// Listeners bound and not shutting down.
    var isServing: Bool { self.started.load(ordering: .relaxed) && !self.stopping.load(ordering: .relaxed) }
}
