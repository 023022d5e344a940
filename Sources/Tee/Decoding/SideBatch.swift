import Relay
import ZabbixProtocol

/// What the Zabbix taps of one relay event loop hand to the side pipeline, gathered during an
/// iteration of the loop and appended to the pipeline's queues at its end (``RelayTapBatch``):
/// one lock, and at most one wake-up, per worker queue and iteration, instead of one per
/// connection opened, frame and connection closed.
///
/// Each connection's items go to its worker's queue in the order they were gathered. A frame is
/// gathered only once it has its place in the queue and its bytes in the pipeline's frame bytes
/// (``gather(frame:bytes:connection:)``), so a full queue drops it at once, as an offer would, and
/// nothing waits here uncounted.
///
/// Confined to its event loop's thread, as the taps that fill it.
final class SideBatch: RelayTapBatch {
    private let queues: [SideQueue<SideWork>]
    private let statistics: DecodeStatistics
    private let frameBytes: ByteBudget
    /// Gathered items, per queue. Written for every item on the event loop, whose thread alone
    /// touches the batch: no run-time exclusivity check (a class's stored `var` pays one on
    /// every write otherwise).
    @exclusivity(unchecked) private var pending: [[SideWork]]
    /// Frames gathered since the last flush, for the statistics.
    @exclusivity(unchecked) private var frames = (count: 0, bytes: 0)

    /// The batch does not keep `pipeline` alive: a relay loop holds it only while the pipeline lives.
    init(pipeline: SidePipeline) {
        self.queues = pipeline.queues
        self.statistics = pipeline.statistics
        self.frameBytes = pipeline.frameBytes
        self.pending = Array(repeating: [], count: pipeline.queues.count)
    }

    /// Gathers a connection opened or closed (always accepted).
    func gather(control work: consuming SideWork, connection: UInt64) {
        let index = SidePipeline.queueIndex(of: connection, queues: self.queues.count)
        _ = self.queues[index].reserve(control: true)
        self.pending[index].append(work)
    }

    /// Gathers a frame whose `bytes` are reserved in the pipeline's frame bytes, if its queue has
    /// room for it; `false`: the queue is full (the caller counts the drop and gives the bytes back).
    func gather(frame work: consuming SideWork, bytes: Int, connection: UInt64) -> Bool {
        let index = SidePipeline.queueIndex(of: connection, queues: self.queues.count)
        guard self.queues[index].reserve(control: false) else { return false }
        self.pending[index].append(work)
        self.frames.count += 1
        self.frames.bytes += bytes
        return true
    }

    func flush() {
        // Counted before a worker can take them (and count them out).
        if self.frames.count > 0 {
            self.statistics.queued(frames: self.frames.count, bytes: self.frames.bytes)
            self.frames = (0, 0)
        }
        for index in self.pending.indices where !self.pending[index].isEmpty {
            let count = self.pending[index].count
            if !self.queues[index].append(contentsOf: &self.pending[index]) {
                self.dropped(self.pending[index])
                self.pending[index].removeAll()
            }
            // The next iteration gathers into storage of its own (one allocation, not one per doubling).
            self.pending[index].reserveCapacity(max(8, count))
        }
    }

    /// The queue closed (shutting down) before `items` reached it: their frames hold no bytes
    /// and are no longer queued.
    private func dropped(_ items: [SideWork]) {
        var frames = (count: 0, bytes: 0)
        for case .frame(_, _, let frame, _) in items {
            frames.count += 1
            frames.bytes += frame.payload.readableBytes
        }
        self.frameBytes.release(frames.bytes)
        self.statistics.dequeued(frames: frames.count, bytes: frames.bytes)
    }
}
