import Synchronization
import ZabbixProtocol

/// What every ``ConnectionDecoder`` of one side pipeline worker (or one `decode` run) shares,
/// handed in once.
struct DecodeContext {
    /// itemid → host/key, learned from trusted replies; values waiting for it.
    let catalog: ItemCatalogStore
    /// Sessions and the last row id accepted in each.
    let duplicates: SharedDuplicateFilter
    let statistics: DecodeStatistics
    /// Per worker: not shared between threads.
    let inflater: ZabbixInflater
    /// Where the bytes of values waiting for their reply are charged: the side pipeline's one
    /// byte budget (`decode.queue_bytes`), which also holds the frames arriving, queued and being
    /// decoded, so that a value waiting for its reply and the frame it came in compete for the
    /// same bound.
    let budget: ByteBudget
    /// Whether each ``ConnectionDecoder/Step`` carries the message it decoded: the `decode`
    /// command lists them; the live pipeline does not, and saves a copy of every message.
    var keepsMessages = false
}

/// A ``DuplicateFilter`` shared by the workers of a pipeline (a session's connections may land
/// on different workers).
final class SharedDuplicateFilter: Sendable {
    private let filter: Mutex<DuplicateFilter>

    init(maximumSessions: Int) {
        self.filter = Mutex(DuplicateFilter(maximumSessions: maximumSessions))
    }

    /// `values` without rows already accepted (see ``DuplicateFilter/unseen(_:)``).
    func unseen(_ values: [ItemValue]) -> [ItemValue] {
        // agentd 6.0 and senders: no session; nothing to look up, no lock.
        guard values.contains(where: { $0.session != nil && $0.id != nil }) else { return values }
        return self.filter.withLock { $0.unseen(values) }
    }

    /// Remembers the rows of accepted values: each session's highest id, one lock.
    func remember(_ values: [DecodedValue]) {
        // The last run apart: an upload is one session, so no array is built for it.
        var earlier: [(session: String, highest: UInt64)] = []
        var last: (session: String, highest: UInt64)?
        for index in values.indices {
            guard let session = values[index].value.session, let id = values[index].value.id else { continue }
            if let run = last, run.session == session {
                last = (session, max(run.highest, id))
            } else {
                if let run = last { earlier.append(run) }
                last = (session, id)
            }
        }
        guard let last else { return }
        self.filter.withLock { filter in
            for run in earlier { filter.remember(session: run.session, id: run.highest) }
            filter.remember(session: last.session, id: last.highest)
        }
    }
}
