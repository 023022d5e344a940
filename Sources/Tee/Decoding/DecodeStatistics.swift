import Synchronization
import ZabbixProtocol

/// Counters of the side pipeline, readable from any thread (metrics, tests).
///
/// Labelled counters (per request type and flags, per failure reason) live in lock-protected
/// dictionaries keyed by value types: they change once per frame, never per byte.
public final class DecodeStatistics: Sendable {
    /// Why a frame or a connection was not decoded.
    public enum Failure: String, Sendable, Hashable, CaseIterable {
        /// A frame larger than `decode.max_frame_size` (skipped, decoding resumes after it).
        case oversized
        /// The side pipeline's queue was full (`decode.queue_frames`, or `decode.queue_bytes` of
        /// frames arriving, queued and being decoded): the frame was not decoded, the relay was
        /// not slowed.
        case queueFull = "queue_full"
        /// zlib data that does not inflate, or inflates to another size than announced.
        case corruptCompression = "corrupt_compression"
        /// A payload that is not valid JSON (or not valid UTF-8).
        case invalidJSON = "invalid_json"
        /// A payload that would keep more than its budget (`decode.max_frame_size` bytes of rows,
        /// item lists or configuration rows): not decoded, nothing of it kept.
        case budgetExceeded = "budget_exceeded"
        /// A frame of a connection that had already used its decoding share (inflated bytes per
        /// second, see ``ConnectionDecodeShare``): dropped before it was queued.
        case connectionShare = "connection_share"
        /// A connection whose bytes are not ZBXD framing (legacy headerless payloads, garbage,
        /// unknown flag bits): decoding stopped for that connection.
        case notZabbix = "not_zabbix"
        /// A direction of a connection that ended inside a frame: the peer reset or closed
        /// mid-frame, or the idle timeout closed a connection that had sent part of one.
        case truncated
    }

    private let labelled = Mutex<(frames: [FrameKind: Int], failures: [Failure: Int])>(([:], [:]))
    private let tlsConnections = Atomic<Int>(0)
    private let values = Atomic<Int>(0)
    private let duplicates = Atomic<Int>(0)
    private let unresolvedEmitted = Atomic<Int>(0)
    private let unresolvedDropped = Atomic<Int>(0)
    private let filtered = Atomic<Int>(0)
    private let droppedUnusable = Atomic<Int>(0)
    private let droppedHostTooLong = Atomic<Int>(0)
    private let droppedKeyTooLong = Atomic<Int>(0)
    private let queuedFrames = Atomic<Int>(0)
    private let queuedBytes = Atomic<Int>(0)

    public init() {}

    // MARK: Reading

    /// Frames decoded, by request type (`agent data`, `active checks reply`, ...) and flags byte.
    public var framesDecoded: [FrameKind: Int] { self.labelled.withLock { $0.frames } }

    /// Frames or connections not decoded, by reason (every reason present, zero included).
    public var failures: [Failure: Int] {
        let counted = self.labelled.withLock { $0.failures }
        return Dictionary(uniqueKeysWithValues: Failure.allCases.map { ($0, counted[$0] ?? 0) })
    }

    public func failures(_ reason: Failure) -> Int { self.failures[reason] ?? 0 }

    /// Connections recognised as TLS (relayed, never decoded).
    public var tlsConnectionCount: Int { self.tlsConnections.load(ordering: .relaxed) }
    /// Item values decoded (after duplicate suppression, before mapping filters).
    public var itemValueCount: Int { self.values.load(ordering: .relaxed) }
    /// Rows dropped as duplicates (same session, id not above the last seen).
    public var duplicateCount: Int { self.duplicates.load(ordering: .relaxed) }
    /// Values whose itemid stayed unknown and were emitted with service `itemid:N`.
    public var unresolvedEmittedCount: Int { self.unresolvedEmitted.load(ordering: .relaxed) }
    /// Values whose itemid stayed unknown and were dropped.
    public var unresolvedDroppedCount: Int { self.unresolvedDropped.load(ordering: .relaxed) }
    /// Rows (and passive check keys) read but not kept: nothing usable, or a host or key longer
    /// than Zabbix allows.
    public var droppedRows: DroppedRows {
        DroppedRows(
            unusable: self.droppedUnusable.load(ordering: .relaxed),
            hostTooLong: self.droppedHostTooLong.load(ordering: .relaxed),
            keyTooLong: self.droppedKeyTooLong.load(ordering: .relaxed))
    }
    /// Frames waiting in the side pipeline's queues, and their bytes.
    public var queueFrames: Int { self.queuedFrames.load(ordering: .relaxed) }
    public var queueBytes: Int { self.queuedBytes.load(ordering: .relaxed) }

    /// One kind of decoded frame.
    public struct FrameKind: Sendable, Hashable {
        public var message: String
        public var flags: UInt8
        public init(message: String, flags: UInt8) {
            self.message = message
            self.flags = flags
        }
    }

    // MARK: Recording

    func frameDecoded(message: String, flags: UInt8) {
        self.labelled.withLock { $0.frames[FrameKind(message: message, flags: flags), default: 0] += 1 }
    }

    func failed(_ reason: Failure, count: Int = 1) {
        self.labelled.withLock { $0.failures[reason, default: 0] += count }
    }

    func rowsDropped(_ rows: DroppedRows) {
        if rows.unusable > 0 { self.droppedUnusable.add(rows.unusable, ordering: .relaxed) }
        if rows.hostTooLong > 0 { self.droppedHostTooLong.add(rows.hostTooLong, ordering: .relaxed) }
        if rows.keyTooLong > 0 { self.droppedKeyTooLong.add(rows.keyTooLong, ordering: .relaxed) }
    }

    func tlsConnection() { self.tlsConnections.add(1, ordering: .relaxed) }
    func valuesDecoded(_ count: Int) { self.values.add(count, ordering: .relaxed) }
    func duplicatesDropped(_ count: Int) { self.duplicates.add(count, ordering: .relaxed) }
    func unresolved(emitted: Int, dropped: Int) {
        self.unresolvedEmitted.add(emitted, ordering: .relaxed)
        self.unresolvedDropped.add(dropped, ordering: .relaxed)
    }

    func queued(bytes: Int) {
        self.queuedFrames.add(1, ordering: .relaxed)
        self.queuedBytes.add(bytes, ordering: .relaxed)
    }

    func dequeued(frames: Int, bytes: Int) {
        self.queuedFrames.subtract(frames, ordering: .relaxed)
        self.queuedBytes.subtract(bytes, ordering: .relaxed)
    }
}
