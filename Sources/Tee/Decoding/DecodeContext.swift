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
    /// Where the bytes of values waiting for their reply are charged.
    let budget: any HoldBudget
}

/// A byte budget that values waiting for the server's reply are charged to, so that holding them
/// shares one bound with the rest of the side pipeline (`decode.queue_bytes`).
protocol HoldBudget: Sendable {
    /// Takes `bytes` from the budget; `false` (nothing taken) when they do not fit.
    func reserve(bytes: Int) -> Bool
    /// Gives back bytes taken by ``reserve(bytes:)``.
    func release(bytes: Int)
}

/// The `decode` command's budget: a recording is decoded in one go, held values are settled by
/// the next frame, so only an upper bound matters.
final class CountingHoldBudget: HoldBudget {
    let maximumBytes: Int
    private let used = Atomic<Int>(0)

    init(maximumBytes: Int) { self.maximumBytes = maximumBytes }

    func reserve(bytes: Int) -> Bool {
        let after = self.used.add(bytes, ordering: .relaxed).newValue
        if after > self.maximumBytes {
            self.used.subtract(bytes, ordering: .relaxed)
            return false
        }
        return true
    }

    func release(bytes: Int) { self.used.subtract(bytes, ordering: .relaxed) }
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
        var runs: [(session: String, highest: UInt64)] = []
        for value in values {
            guard let session = value.value.session, let id = value.value.id else { continue }
            if let last = runs.last, last.session == session {
                runs[runs.count - 1].highest = max(last.highest, id)
            } else {
                runs.append((session, id))
            }
        }
        guard !runs.isEmpty else { return }
        self.filter.withLock { filter in
            for run in runs { filter.remember(session: run.session, id: run.highest) }
        }
    }
}

extension SideQueue: HoldBudget {}
