import NIOCore
import Riemann
import ServiceLifecycle

/// The Graphite output's client as a `Service`: connects at once; on graceful shutdown, after
/// the side pipeline and Riemann, gives carbon up to `graphite.flush_timeout` to take what is
/// queued.
struct GraphiteService: Service {
    let client: RiemannClient
    let daemon: TeeDaemon
    /// Finished once the client runs: the relay binds only after it.
    let started: AsyncStream<Void>.Continuation

    func run() async throws {
        self.client.start()
        self.started.finish()
        try? await gracefulShutdown()
        guard let timeout = self.daemon.configuration.graphite?.flushTimeout else { return }
        await self.client.shutdown(deadline: .now() + TimeAmount(timeout))
    }
}
