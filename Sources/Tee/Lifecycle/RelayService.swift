import Logging
import Relay
import ServiceLifecycle
import UnixSignals

/// The listener set as a `Service`, started last and shut down first: binds every listener once
/// the side pipeline and Riemann run, applies a reload on each SIGHUP, and on graceful shutdown
/// stops accepting, lets open connections finish for up to `shutdown_timeout`, closes the rest,
/// and stops self-monitoring, the relay loops and the recorders.
///
/// Reloads run in this service's own task, between two SIGHUPs, so a reload and the shutdown
/// never overlap: the shutdown begins once a reload under way has finished.
struct RelayService: Service {
    let daemon: TeeDaemon
    /// What must run before the first connection is accepted (the side pipeline, Riemann).
    let prerequisites: [AsyncStream<Void>]
    /// Finished once every listener is bound (the admin endpoint binds after them).
    let bound: AsyncStream<Void>.Continuation

    func run() async throws {
        let daemon = self.daemon
        // Trapped before binding: a SIGHUP while binding waits for the start instead of killing us.
        let signals = daemon.configurationPath == nil ? nil : await UnixSignalsSequence(trapping: .sighup)
        for prerequisite in self.prerequisites {
            for await _ in prerequisite {}
        }
        try await self.bind()
        daemon.isServing = true
        self.bound.finish()
        let selfMonitoring = daemon.riemann.map { riemann in Task { await daemon.runSelfMonitoring(riemann: riemann) } }
        if let signals, let path = daemon.configurationPath {
            for await _ in signals.cancelOnGracefulShutdown() {
                daemon.logger.info("SIGHUP: reloading the configuration", metadata: ["path": "\(path)"])
                await daemon.reload(path: path)
            }
        } else {
            try? await gracefulShutdown()
        }
        daemon.isServing = false
        await self.drain()
        if let selfMonitoring {
            selfMonitoring.cancel()
            await selfMonitoring.value
        }
        await daemon.engine.shutdown()
        await daemon.recorders.shutdown()
    }

    /// Binds every listener; if one cannot be bound, the ones bound are closed again and the
    /// error (naming the listener and address) ends the service, and with it the group.
    private func bind() async throws {
        var started: [RelayListener] = []
        do {
            for listener in self.daemon.listeners {
                try await listener.start()
                started.append(listener)
            }
        } catch {
            for listener in started { await listener.stopAccepting() }
            await self.daemon.engine.shutdown()
            await self.daemon.recorders.shutdown()
            throw error
        }
    }

    /// Stops accepting, waits up to `shutdown_timeout` for open connections (including those of
    /// listeners a reload removed), then closes the rest.
    private func drain() async {
        let daemon = self.daemon
        let (listeners, configuration) = daemon.running.value.withLock { ($0.listeners + $0.retired, $0.configuration) }
        for listener in listeners { await listener.stopAccepting() }
        let open = listeners.reduce(0) { $0 + $1.openConnections }
        if open > 0 {
            daemon.logger.info(
                "shutting down: waiting for open connections to finish",
                metadata: ["connections": "\(open)", "timeout": "\(configuration.shutdownTimeout)"]
            )
        }
        if await Self.waitForConnectionsToClose(listeners, timeout: configuration.shutdownTimeout) { return }
        let left = listeners.reduce(0) { $0 + $1.openConnections }
        daemon.logger.warning(
            "shutdown timeout reached; closing the remaining connections",
            metadata: ["connections": "\(left)"]
        )
        for listener in listeners { await listener.closeAllConnections() }
        _ = await Self.waitForConnectionsToClose(listeners, timeout: .seconds(5))
    }

    private static func waitForConnectionsToClose(_ listeners: [RelayListener], timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            for listener in listeners { group.addTask { await listener.waitForConnectionsToClose(timeout: timeout) } }
            return await group.reduce(true) { $0 && $1 }
        }
    }
}
