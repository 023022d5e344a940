import Synchronization

/// Bytes that may be held at once, taken and given back by several threads.
///
/// The side pipeline has one for every frame it holds (`decode.queue_bytes`): frames still
/// arriving (a frame spanning reads is copied out of the relay's buffers by the connection's
/// tap until it is complete), frames queued for a worker and the frame a worker is decoding. So
/// however many connections send large frames at once, together they hold at most that much; a
/// frame that does not fit is passed over (relayed, not decoded) and counted.
final class ByteBudget: Sendable {
    let limit: Int
    private let used = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = max(0, limit)
    }

    /// Bytes held now.
    var bytesInUse: Int { self.used.load(ordering: .relaxed) }

    /// Takes `bytes` if they fit under the limit.
    func reserve(_ bytes: Int) -> Bool {
        var current = self.used.load(ordering: .relaxed)
        while true {
            guard bytes <= self.limit - current else { return false }
            let (exchanged, original) = self.used.compareExchange(
                expected: current,
                desired: current + bytes,
                ordering: .relaxed
            )
            if exchanged { return true }
            current = original
        }
    }

    /// Takes `bytes` even past the limit (what must be held whatever it costs, and is bounded
    /// otherwise).
    func take(_ bytes: Int) {
        self.used.add(bytes, ordering: .relaxed)
    }

    func release(_ bytes: Int) {
        self.used.subtract(bytes, ordering: .relaxed)
    }
}
