import Admin
import Logging
import NIOCore
import NIOPosix
import Relay
import Riemann
import ServiceLifecycle
import Synchronization

/// The running tee: relay listeners, the side pipeline that decodes their traffic, the Riemann
/// output and the admin endpoint, started and stopped in the right order.
///
/// As a `Service` it starts everything, then waits for a graceful shutdown (SIGTERM/SIGINT
/// through `ServiceGroup`): stop accepting; let open connections finish for up to
/// `shutdown_timeout`, then close them; decode what is queued and save the item catalog; give
/// Riemann up to `riemann.flush_timeout` to acknowledge what is queued; stop the admin endpoint.
public final class TeeDaemon: Service, Sendable {
    public let configuration: TeeConfiguration
    public let listeners: [RelayListener]
    /// The side pipeline; `nil` when no listener decodes.
    public let pipeline: SidePipeline?
    /// The Riemann output; `nil` without a `riemann:` section.
    public let riemann: RiemannClient?
    public let sink: RiemannSink
    public let admin: AdminServer?
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state = LifecycleState()

    public init(configuration: TeeConfiguration, group: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        self.riemann = configuration.riemann.map {
            RiemannClient(configuration: $0, eventLoopGroup: group, logger: logger)
        }
        self.sink = RiemannSink(mapper: EventMapper(configuration: configuration.mapping), client: self.riemann)
        let decodes = configuration.listeners.contains { configuration.options(for: $0.name).decode }
        self.pipeline = decodes ? SidePipeline(configuration: configuration.decode, sink: self.sink, logger: logger) : nil
        let ids = ConnectionIDGenerator()
        let pipeline = self.pipeline
        self.listeners = configuration.listeners.map { listener in
            let options = configuration.options(for: listener.name)
            var taps: [any RelayTapFactory] = []
            if options.decode, let pipeline { taps.append(pipeline.tapFactory) }
            if let directory = options.recordDirectory { taps.append(RecordingTapFactory(directory: directory, logger: logger)) }
            let tap: (any RelayTapFactory)? = taps.isEmpty ? nil : (taps.count == 1 ? taps[0] : CompositeTapFactory(taps))
            return RelayListener(configuration: listener, group: group, tapFactory: tap, connectionIDs: ids, logger: logger)
        }
        if let adminConfiguration = configuration.admin {
            var sources: [any MetricsSource] = [RelayMetricsSource(listeners: self.listeners), ProcessMetricsSource()]
            if let riemann = self.riemann { sources.append(RiemannMetricsSource(client: riemann)) }
            if let pipeline = self.pipeline {
                sources.append(DecodeMetricsSource(statistics: pipeline.statistics, catalog: pipeline.catalog, sink: self.sink))
            }
            let state = self.state
            self.admin = AdminServer(
                configuration: adminConfiguration, exporter: MetricsExporter(sources: sources),
                healthy: { state.isServing },
                ready: { state.isServing },
                group: group, logger: logger)
        } else {
            self.admin = nil
        }
    }

    /// Loads the catalog, starts the pipeline and the Riemann client, binds every listener and the
    /// admin endpoint. Throws (naming the listener and address) if one cannot be bound; what was
    /// started is stopped again.
    public func start() async throws {
        if let pipeline = self.pipeline {
            if let path = self.configuration.decode.catalogPath {
                do {
                    try pipeline.catalog.load(path: path)
                    self.logger.info("item catalog loaded", metadata: ["path": "\(path)", "entries": "\(pipeline.catalog.entryCount)"])
                } catch {
                    self.logger.error(
                        "cannot load the item catalog; starting with an empty one (itemid-only values wait until agents and proxies refresh it)",
                        metadata: ["error": "\(error)"])
                }
            }
            pipeline.start()
        }
        self.riemann?.start()
        var started: [RelayListener] = []
        do {
            for listener in self.listeners {
                try await listener.start()
                started.append(listener)
            }
            try await self.admin?.start()
        } catch {
            for listener in started { await listener.stopAccepting() }
            await self.stopSidePipeline()
            throw error
        }
        self.state.started.store(true, ordering: .relaxed)
    }

    public func run() async throws {
        try await self.start()
        try? await gracefulShutdown()
        await self.shutdown()
    }

    /// The graceful shutdown described on the type.
    public func shutdown() async {
        self.state.stopping.store(true, ordering: .relaxed)
        for listener in self.listeners { await listener.stopAccepting() }
        let open = self.listeners.reduce(0) { $0 + $1.openConnections }
        if open > 0 {
            self.logger.info(
                "shutting down: waiting for open connections to finish",
                metadata: ["connections": "\(open)", "timeout": "\(self.configuration.shutdownTimeout)"])
        }
        let allClosed = await withTaskGroup(of: Bool.self) { group in
            for listener in self.listeners {
                let timeout = self.configuration.shutdownTimeout
                group.addTask { await listener.waitForConnectionsToClose(timeout: timeout) }
            }
            return await group.reduce(true) { $0 && $1 }
        }
        if !allClosed {
            let left = self.listeners.reduce(0) { $0 + $1.openConnections }
            self.logger.warning("shutdown timeout reached; closing the remaining connections", metadata: ["connections": "\(left)"])
            for listener in self.listeners { await listener.closeAllConnections() }
            _ = await withTaskGroup(of: Bool.self) { group in
                for listener in self.listeners { group.addTask { await listener.waitForConnectionsToClose(timeout: .seconds(5)) } }
                return await group.reduce(true) { $0 && $1 }
            }
        }
        await self.stopSidePipeline()
        await self.admin?.shutdown()
    }

    private func stopSidePipeline() async {
        await self.pipeline?.shutdown()
        if let riemann = self.riemann {
            let queued = riemann.statistics.queue.depth
            if queued > 0 {
                self.logger.info("flushing queued events to Riemann", metadata: ["events": "\(queued)"])
            }
            let timeout = self.configuration.riemannFlushTimeout
            await riemann.shutdown(deadline: .now() + TimeAmount(timeout))
            let dropped = riemann.statistics.queue.dropped[.shutdown] ?? 0
            if dropped > 0 {
                self.logger.warning("Riemann did not acknowledge every queued event before the flush timeout", metadata: ["dropped": "\(dropped)"])
            }
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
