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
        /// A request's values could not wait for the server's reply: the frames and values held
        /// on the side already use the byte budget (`decode.queue_bytes`). Not emitted, counted,
        /// relayed.
        case holdBudget = "hold_budget"
    }

    /// Why the catalog did not learn from a message that carried items.
    public enum CatalogUpdateIgnored: String, Sendable, Hashable, CaseIterable {
        /// A client pushed a proxy configuration on a listener not declared `passive_proxy`.
        case untrustedListener = "untrusted_listener"
        /// A pushed configuration the passive proxy did not answer with `success`.
        case notAccepted = "not_accepted"
        /// An `active checks` reply or configuration reply sent by the connecting side, not the target.
        case wrongSide = "wrong_side"
    }

    /// A redirect, by the listener whose reply carried it and the address it sends clients to
    /// (`reset` for a reset; `other` once ``maximumRedirectAddresses`` addresses are counted).
    public struct RedirectKey: Sendable, Hashable {
        public var listener: String
        public var address: String
        public init(listener: String, address: String) {
            self.listener = listener
            self.address = address
        }
    }

    /// Distinct (listener, address) pairs counted before further addresses count as `other`:
    /// the address comes from the wire, so the label set must stay bounded.
    public static let maximumRedirectAddresses = 64

    /// One row of the `decode --summary` upgrade check: a request type and the Zabbix version its
    /// sender announced (`-` when it announces none, as `zabbix_sender` does).
    public struct SummaryKey: Sendable, Hashable, Comparable {
        public var request: String
        public var version: String
        public init(request: String, version: String) {
            self.request = request
            self.version = version
        }

        /// The row of `request` values from a sender that announced `version` (cut to 32
        /// characters: it comes from the wire).
        init(request: ItemValue.RequestType, version: String?) {
            // A version of at most 32 bytes has at most 32 characters: kept as it is (shared, no
            // grapheme walk), as `prefix(32)` would give it back whole.
            self.init(
                request: request.rawValue,
                version: version.map { $0.utf8.count <= 32 ? $0 : String($0.prefix(32)) } ?? "-"
            )
        }

        /// The row of `value`.
        init(_ value: DecodedValue) {
            self.init(request: value.value.requestType, version: value.zabbixVersion)
        }
        public static func < (lhs: SummaryKey, rhs: SummaryKey) -> Bool {
            (lhs.request, lhs.version) < (rhs.request, rhs.version)
        }
    }

    /// What became of the values of one ``SummaryKey``.
    public struct SummaryCounts: Sendable, Hashable {
        /// Values decoded (duplicates removed).
        public var decoded = 0
        /// Rows dropped as duplicates.
        public var duplicates = 0
        /// Values the reply accepted.
        public var accepted = 0
        /// Of ``accepted``: values of batches the server only partly accepted.
        public var partial = 0
        /// Values the server refused (failed response, `processed: 0`, redirect, row errors).
        public var rejected = 0
        /// Values whose request got no (readable) reply.
        public var unanswered = 0
        /// Accepted itemid-only values whose host and key came from the catalog.
        public var resolved = 0
        /// Accepted itemid-only values the catalog could not resolve in time.
        public var unresolved = 0
        public init() {}
    }

    /// Rows of the summary before further (request, version) pairs count as version `other`.
    public static let maximumSummaryRows = 256

    private struct Verdicts {
        var rejected: [ValueRejection: Int] = [:]
        var redirects: [RedirectKey: Int] = [:]
        var catalogIgnored: [CatalogUpdateIgnored: Int] = [:]
        /// The summary rows, in the order first counted (never removed), and where each key's is.
        var summaryRows: [SummaryCounts] = []
        var summaryRowIndex: [SummaryKey: Int] = [:]
        /// The key counted last and its row: the next values, nearly always of the same request
        /// type and version, find it by one comparison instead of hashing the key.
        var lastSummaryRow: (key: SummaryKey, row: Int)?

        var summary: [SummaryKey: SummaryCounts] { self.summaryRowIndex.mapValues { self.summaryRows[$0] } }
    }

    private struct Labelled {
        /// Frames counted by kind, in the order first seen, and where each kind's count is.
        var frameCounts: [Int] = []
        var frameRows: [FrameKind: Int] = [:]
        /// The two kinds counted last and their rows: a connection's frames alternate between a
        /// request and its reply, so each finds its row by comparing the kind instead of hashing it.
        var lastFrame: (kind: FrameKind, row: Int)?
        var frameBefore: (kind: FrameKind, row: Int)?
        var failures: [Failure: Int] = [:]

        var frames: [FrameKind: Int] { self.frameRows.mapValues { self.frameCounts[$0] } }

        mutating func count(_ kind: FrameKind) {
            if let last = self.lastFrame, last.kind == kind {
                self.frameCounts[last.row] += 1
                return
            }
            let row: Int
            if let before = self.frameBefore, before.kind == kind {
                row = before.row
            } else if let known = self.frameRows[kind] {
                row = known
            } else {
                self.frameCounts.append(0)
                row = self.frameCounts.count - 1
                self.frameRows[kind] = row
            }
            self.frameCounts[row] += 1
            self.frameBefore = self.lastFrame
            self.lastFrame = (kind, row)
        }
    }

    private let labelled = Mutex(Labelled())
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
    private let verdicts = Mutex(Verdicts())
    private let held = Atomic<Int>(0)
    private let heldBytes = Atomic<Int>(0)

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
    /// Item values handed on to the sink: decoded, not duplicates, accepted by the server's reply
    /// (before mapping filters).
    public var itemValueCount: Int { self.values.load(ordering: .relaxed) }
    /// Values not taken as stored, by reason (every reason the decoder counts present, zero
    /// included; `partial_batch` is counted by the mapping, see ``RiemannSink``).
    public var rejectedValues: [ValueRejection: Int] {
        let counted = self.verdicts.withLock { $0.rejected }
        return Dictionary(
            uniqueKeysWithValues: ValueRejection.allCases.filter { $0 != .partialBatch }.map { ($0, counted[$0] ?? 0) }
        )
    }
    /// Replies carrying a 7.0 redirect, by listener and target address.
    public var redirects: [RedirectKey: Int] { self.verdicts.withLock { $0.redirects } }
    /// Messages whose items the catalog did not learn, by reason (every reason present).
    public var catalogUpdatesIgnored: [CatalogUpdateIgnored: Int] {
        let counted = self.verdicts.withLock { $0.catalogIgnored }
        return Dictionary(uniqueKeysWithValues: CatalogUpdateIgnored.allCases.map { ($0, counted[$0] ?? 0) })
    }
    /// Per request type and sender version: what became of the values (`decode --summary`).
    public var summary: [SummaryKey: SummaryCounts] { self.verdicts.withLock { $0.summary } }
    /// Values waiting for the reply to their request, and the bytes charged for them.
    public var heldValueCount: Int { self.held.load(ordering: .relaxed) }
    public var heldByteCount: Int { self.heldBytes.load(ordering: .relaxed) }
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
            keyTooLong: self.droppedKeyTooLong.load(ordering: .relaxed)
        )
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
        self.labelled.withLock { $0.count(FrameKind(message: message, flags: flags)) }
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

    func rejected(_ reason: ValueRejection, count: Int) {
        guard count > 0 else { return }
        self.verdicts.withLock { $0.rejected[reason, default: 0] += count }
    }

    /// Counts a redirect; returns the address label it was counted under (`other` past the bound).
    @discardableResult
    func redirected(listener: String, address: String) -> String {
        self.verdicts.withLock { verdicts in
            var key = RedirectKey(listener: listener, address: address)
            if verdicts.redirects[key] == nil, verdicts.redirects.count >= Self.maximumRedirectAddresses {
                key.address = "other"
            }
            verdicts.redirects[key, default: 0] += 1
            return key.address
        }
    }

    func catalogUpdateIgnored(_ reason: CatalogUpdateIgnored) {
        self.verdicts.withLock { $0.catalogIgnored[reason, default: 0] += 1 }
    }

    func holding(values: Int, bytes: Int) {
        self.held.add(values, ordering: .relaxed)
        self.heldBytes.add(bytes, ordering: .relaxed)
    }

    /// Adds to the summary rows of `values` (grouped by request type and version) with `update`.
    /// The values of one message share request type and version: a run costs two comparisons per
    /// value, a key per run, one lock per call. The runs are counted under the lock, one at a time,
    /// rather than gathered first into an array (one allocation per call, twice per upload).
    func summarize(_ values: [DecodedValue], _ update: (inout SummaryCounts, Int) -> Void) {
        guard let first = values.first else { return }
        self.verdicts.withLock { verdicts in
            var run = (request: first.value.requestType, version: first.zabbixVersion, count: 0)
            for value in values {
                if run.request == value.value.requestType, run.version == value.zabbixVersion {
                    run.count += 1
                } else {
                    let key = SummaryKey(request: run.request, version: run.version)
                    Self.summarize(key, run.count, update, in: &verdicts)
                    run = (value.value.requestType, value.zabbixVersion, 1)
                }
            }
            Self.summarize(SummaryKey(request: run.request, version: run.version), run.count, update, in: &verdicts)
        }
    }

    /// Adds `count` to the summary row `key` with `update`.
    func summarize(_ key: SummaryKey, count: Int, _ update: (inout SummaryCounts, Int) -> Void) {
        guard count > 0 else { return }
        self.verdicts.withLock { Self.summarize(key, count, update, in: &$0) }
    }

    private static func summarize(
        _ key: SummaryKey,
        _ count: Int,
        _ update: (inout SummaryCounts, Int) -> Void,
        in verdicts: inout Verdicts
    ) {
        if let last = verdicts.lastSummaryRow, last.key == key {
            update(&verdicts.summaryRows[last.row], count)
            return
        }
        let row = Self.summaryRow(of: key, in: &verdicts)
        update(&verdicts.summaryRows[row], count)
        verdicts.lastSummaryRow = (key, row)
    }

    /// The row `key` is counted in, made on first use (past ``maximumSummaryRows``, the row of
    /// version `other`).
    private static func summaryRow(of key: SummaryKey, in verdicts: inout Verdicts) -> Int {
        if let row = verdicts.summaryRowIndex[key] { return row }
        var key = key
        if verdicts.summaryRowIndex.count >= Self.maximumSummaryRows {
            key.version = "other"
            if let row = verdicts.summaryRowIndex[key] { return row }
        }
        verdicts.summaryRows.append(SummaryCounts())
        verdicts.summaryRowIndex[key] = verdicts.summaryRows.count - 1
        return verdicts.summaryRows.count - 1
    }

    func queued(frames: Int, bytes: Int) {
        self.queuedFrames.add(frames, ordering: .relaxed)
        self.queuedBytes.add(bytes, ordering: .relaxed)
    }

    func dequeued(frames: Int, bytes: Int) {
        self.queuedFrames.subtract(frames, ordering: .relaxed)
        self.queuedBytes.subtract(bytes, ordering: .relaxed)
    }
}
