import Logging
import ServiceLifecycle

/// The side pipeline as a `Service`: loads the item catalog and starts the decoding workers; on
/// graceful shutdown (after the relay has stopped feeding it) decodes what is queued, settles
/// the values waiting for the catalog and saves the catalog.
struct SidePipelineService: Service {
    let pipeline: SidePipeline
    let daemon: TeeDaemon
    /// Finished once the workers run: the relay binds only after it.
    let started: AsyncStream<Void>.Continuation

    func run() async throws {
        if let path = self.daemon.configuration.decode.catalogPath {
            self.loadCatalog(path: path)
        }
        self.pipeline.listenersChanged(self.daemon.configuration.listeners.map { ($0.name, $0.listen) })
        self.pipeline.start()
        self.started.finish()
        try? await gracefulShutdown()
        await self.pipeline.shutdown()
    }

    private func loadCatalog(path: String) {
        let logger = self.daemon.logger
        do {
            switch try self.pipeline.catalog.load(path: path) {
            case .missing:
                logger.info("no item catalog file yet; starting with an empty one", metadata: ["path": "\(path)"])
            case .loaded(let entries):
                logger.info("item catalog loaded", metadata: ["path": "\(path)", "entries": "\(entries)"])
            case .setAside(let aside, let reason):
                logger.error(
                    "cannot load the item catalog; the file is kept aside and the tee starts with an empty one (itemid-only values wait until agents and proxies refresh it)",
                    metadata: ["path": "\(path)", "kept_as": "\(aside)", "error": "\(reason)"]
                )
            }
        } catch {
            logger.error(
                "cannot load the item catalog nor set the file aside; starting with an empty one that is never saved over it",
                metadata: ["error": "\(error)"]
            )
        }
    }
}
