import NIOCore
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
/// A frame that arrived whole in a read is copied into the iteration's ``FrameArena`` of its
/// queue, which holds the charge of its bytes in the pipeline's frame bytes (`decode.queue_bytes`)
/// until the last of its frames is consumed. A frame the arena cannot take (its growth does not
/// fit the budget, or the frame is larger than ``largestArenaFrame``) gets a buffer of its own,
/// charged with its payload's size, as a frame that spanned reads has.
///
/// Confined to its event loop's thread, as the taps that fill it.
final class SideBatch: RelayTapBatch {
    /// Frames larger than this get a buffer of their own: an arena's growth moves what it holds,
    /// and a large frame would keep the other frames' memory until it is decoded.
    static let largestArenaFrame = 64 << 10

    private let queues: [SideQueue<SideWork>]
    private let statistics: DecodeStatistics
    private let frameBytes: ByteBudget
    /// Gathered items, per queue. Written for every item on the event loop, whose thread alone
    /// touches the batch: no run-time exclusivity check (a class's stored `var` pays one on
    /// every write otherwise).
    @exclusivity(unchecked) private var pending: [[SideWork]]
    /// Frames gathered since the last flush, for the statistics.
    @exclusivity(unchecked) private var frames = (count: 0, bytes: 0)
    /// This iteration's arenas, per queue: made for its first frame, let go at its end.
    @exclusivity(unchecked) private var arenas: [FrameArena?]

    /// The batch does not keep `pipeline` alive: a relay loop holds it only while the pipeline lives.
    init(pipeline: SidePipeline) {
        self.queues = pipeline.queues
        self.statistics = pipeline.statistics
        self.frameBytes = pipeline.frameBytes
        self.pending = Array(repeating: [], count: pipeline.queues.count)
        self.arenas = Array(repeating: nil, count: pipeline.queues.count)
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

    /// Gathers a frame that arrived whole in a read, its payload `bytes` valid only during the
    /// call, if its queue has room for it and its bytes fit the pipeline's frame bytes (copied
    /// into the iteration's arena, or into a buffer of its own); `false`: they do not (the caller
    /// counts the drop).
    func gather(
        frame header: ZabbixFrameHeader,
        copying bytes: UnsafeRawBufferPointer,
        from peer: ZabbixPeer,
        connection: UInt64,
        afterLoss: Bool
    ) -> Bool {
        let index = SidePipeline.queueIndex(of: connection, queues: self.queues.count)
        guard self.queues[index].reserve(control: false) else { return false }
        let payload: SidePayload
        if let placed = self.place(bytes, queue: index) {
            payload = placed
        } else if self.frameBytes.reserve(bytes.count) {
            payload = .own(ByteBuffer(bytes: bytes))
        } else {
            self.queues[index].unreserve()
            return false
        }
        self.pending[index].append(
            .frame(connection: connection, peer: peer, header: header, payload: payload, afterLoss: afterLoss)
        )
        self.frames.count += 1
        self.frames.bytes += bytes.count
        return true
    }

    /// Copies `bytes` into the arena of queue `queue` (made for the iteration's first frame);
    /// `nil` when it is too large for an arena or the arena's growth does not fit the budget.
    private func place(_ bytes: UnsafeRawBufferPointer, queue: Int) -> SidePayload? {
        guard bytes.count <= Self.largestArenaFrame else { return nil }
        if self.arenas[queue] == nil {
            guard let arena = FrameArena(room: bytes.count, budget: self.frameBytes) else { return nil }
            self.arenas[queue] = arena
        }
        guard let arena = self.arenas[queue], let offset = arena.append(bytes) else { return nil }
        return .arena(arena, offset: offset, count: bytes.count)
    }

    func flush() {
        // What the arenas hold is handed on; the next iteration's frames go into new ones.
        for index in self.arenas.indices where self.arenas[index] != nil { self.arenas[index] = nil }
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
        var frames = (count: 0, bytes: 0, charge: 0)
        for case .frame(_, _, _, let payload, _) in items {
            frames.count += 1
            frames.bytes += payload.count
            frames.charge += payload.charge
        }
        self.frameBytes.release(frames.charge)
        self.statistics.dequeued(frames: frames.count, bytes: frames.bytes)
    }
}
