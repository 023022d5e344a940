import Logging
import NIOCore
import Riemann
import ServiceLifecycle

/// The Riemann client as a `Service`: connects at once; on graceful shutdown (after the side
/// pipeline has handed over its last events) gives Riemann up to `riemann.flush_timeout` to
/// acknowledge what is queued, and counts what it did not.
struct RiemannService: Service {
    let riemann: RiemannClient
    let daemon: TeeDaemon
    /// Finished once the client runs: the relay binds only after it.
    let started: AsyncStream<Void>.Continuation

    func run() async throws {
        self.riemann.start()
        self.started.finish()
        try? await gracefulShutdown()
        let logger = self.daemon.logger
        let queued = self.riemann.statistics.queue.depth
        if queued > 0 {
            logger.info("flushing queued events to Riemann", metadata: ["events": "\(queued)"])
        }
        let timeout = self.daemon.configuration.riemannFlushTimeout  // a reload may have changed it
        await self.riemann.shutdown(deadline: .now() + TimeAmount(timeout))
        let dropped = self.riemann.statistics.queue.dropped[.shutdown] ?? 0
        if dropped > 0 {
            logger.warning(
                "Riemann did not acknowledge every queued event before the flush timeout",
                metadata: ["dropped": "\(dropped)"]
            )
        }
    }
}
