import Logging
import Synchronization

/// The daemon's recording writers: one per directory, shared by the listeners that record there
/// and kept across reloads (a reload that changes `max_bytes` / `max_files` updates the limits;
/// the usage found and written so far stays), all finished at shutdown.
final class Recorders: Sendable {
    let statistics = RecordingStatistics()
    private let writers = Mutex<[String: RecordingWriter]>([:])
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// The tap factory recording into `configuration.path`.
    func tapFactory(for configuration: RecordingConfiguration) -> RecordingTapFactory {
        let writer = self.writers.withLock { writers in
            if let writer = writers[configuration.path] {
                writer.update(configuration)
                return writer
            }
            let writer = RecordingWriter(configuration: configuration, statistics: self.statistics, logger: self.logger)
            writers[configuration.path] = writer
            return writer
        }
        return RecordingTapFactory(writer: writer)
    }

    /// Writes what is queued and finishes every open recording (`meta.json` included).
    func shutdown() async {
        let writers = self.writers.withLock { Array($0.values) }
        for writer in writers {
            await writer.shutdown()
        }
    }
}
