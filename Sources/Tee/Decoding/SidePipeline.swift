import Foundation
import Logging
import LogThrottling
import NIOCore
import Relay
import Synchronization
import ZabbixProtocol

/// Decodes tapped Zabbix frames off the event loops: inflate, JSON, conversation pairing,
/// catalog, duplicate suppression; hands item values to a sink.
///
/// Each worker thread owns the conversations of the connections assigned to it (by connection
/// id), so frames of one connection are decoded in order. Producers never wait: a full queue
/// drops the frame and counts it (see ``DecodeStatistics``).
public final class SidePipeline: Sendable {
    public let configuration: DecodeConfiguration
    public let statistics: DecodeStatistics
    public let catalog: ItemCatalogStore
    private let sink: any ItemValueSink
    private let logger: Logger
    private let queues: [SideQueue<SideWork>]
    /// Every frame held for decoding: arriving in the taps, queued, being decoded
    /// (`decode.queue_bytes`).
    let frameBytes: ByteBudget
    private let duplicates: Mutex<DuplicateFilter>
    private let running = Mutex<(workers: Int, waiters: [CheckedContinuation<Void, Never>])>((0, []))
    /// Limits hit on the side (oversized frames, a full catalog): warned about once per interval.
    let warnings: LogThrottle<LimitWarning>

    /// A limit of the side pipeline, for ``warnings``.
    enum LimitWarning: Hashable, Sendable {
        /// A frame above `decode.max_frame_size` on this listener.
        case oversizedFrame(listener: String)
        /// The item catalog is at `catalog.max_entries`.
        case catalogFull
    }

    /// - Parameter warningInterval: the shortest time between two warnings about the same limit.
    public init(
        configuration: DecodeConfiguration, statistics: DecodeStatistics = DecodeStatistics(),
        catalog: ItemCatalogStore? = nil, sink: any ItemValueSink, logger: Logger,
        warningInterval: TimeAmount = .seconds(60)
    ) {
        self.configuration = configuration
        self.statistics = statistics
        self.catalog =
            catalog
            ?? ItemCatalogStore(
                maximumEntries: configuration.catalogMaximumEntries,
                maximumPendingValues: configuration.unresolvedMaximum, pendingTimeout: configuration.unresolvedWait)
        self.sink = sink
        self.logger = logger
        self.warnings = LogThrottle(interval: warningInterval)
        let frameBytes = ByteBudget(limit: configuration.queueBytes)
        self.frameBytes = frameBytes
        let workers = max(1, configuration.workers)
        self.queues = (0..<workers).map { _ in
            SideQueue(maximumItems: max(1, configuration.queueFrames / workers), bytes: frameBytes)
        }
        self.duplicates = Mutex(DuplicateFilter(maximumSessions: configuration.duplicateSessions))
    }

    /// The tap that feeds this pipeline from relayed connections.
    public var tapFactory: ZabbixTapFactory { ZabbixTapFactory(pipeline: self) }

    /// Starts the worker threads.
    public func start() {
        self.running.withLock { $0.workers = self.queues.count }
        for (index, queue) in self.queues.enumerated() {
            let worker = SideWorker(pipeline: self, queue: queue, index: index)
            let thread = Thread { worker.run() }
            thread.name = "zabbix-tee-decode-\(index)"
            thread.start()
        }
    }

    /// Stops accepting frames, decodes what is queued, settles the values still waiting for the
    /// catalog (emit or drop, as configured), and saves the catalog.
    public func shutdown() async {
        for queue in self.queues { queue.close() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = self.running.withLock { state in
                if state.workers == 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
        self.settle(self.catalog.drainPending())
        self.saveCatalog(force: true)
    }

    func workerFinished() {
        let waiters = self.running.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.workers -= 1
            guard state.workers == 0 else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Hands work to the worker owning `connection`. Frames may be refused (queue full).
    func submit(_ work: SideWork, connection: UInt64, bytes: Int = 0, control: Bool = false) -> Bool {
        let queue = self.queues[Int(connection % UInt64(self.queues.count))]
        guard queue.offer(work, bytes: bytes, control: control) else { return false }
        if !control { self.statistics.queued(bytes: bytes) }
        return true
    }

    func filterDuplicates(_ values: [ItemValue]) -> [ItemValue] {
        guard values.contains(where: { $0.session != nil && $0.id != nil }) else { return values }
        return self.duplicates.withLock { $0.filter(values) }
    }

    func emit(_ values: [DecodedValue]) {
        guard !values.isEmpty else { return }
        self.statistics.valuesDecoded(values.count)
        self.sink.consume(values)
    }

    /// A frame of `connection` was larger than `decode.max_frame_size`: skipped (and counted by the
    /// caller), relayed all the same.
    func frameSkipped(_ header: ZabbixFrameHeader, connection: RelayConnectionInfo, from peer: ZabbixPeer) {
        var metadata: Logger.Metadata = [
            "listener": "\(connection.listener)", "connection": "\(connection.id)",
            "peer": "\(connection.client?.displayText ?? "unknown")", "from": "\(peer == .client ? "client" : "server")",
            "frame_bytes": "\(header.dataLength)", "max_frame_size": "\(self.configuration.maximumFrameSize)",
        ]
        if header.isCompressed { metadata["decoded_bytes"] = "\(header.reserved)" }
        self.warnings.warning(
            .oversizedFrame(listener: connection.listener),
            "frame larger than decode.max_frame_size; not decoded (relayed unchanged)", logger: self.logger,
            metadata: metadata)
    }

    /// The catalog refused `count` items or hosts because it is full.
    func catalogRefused(_ count: Int, listener: String) {
        guard count > 0 else { return }
        self.warnings.warning(
            .catalogFull,
            "item catalog full (catalog.max_entries); further items are not learned and their values stay unresolved",
            logger: self.logger,
            metadata: [
                "listener": "\(listener)", "refused": "\(count)",
                "max_entries": "\(self.configuration.catalogMaximumEntries)",
            ])
    }

    /// Values whose itemid stayed unknown.
    func settle(_ expired: [DecodedValue]) {
        guard !expired.isEmpty else { return }
        switch self.configuration.unresolvedAction {
        case .emit:
            self.statistics.unresolved(emitted: expired.count, dropped: 0)
            self.emit(expired.map { decoded in
                var decoded = decoded
                if decoded.value.key == nil, let itemid = decoded.value.itemid { decoded.value.key = "itemid:\(itemid)" }
                return decoded
            })
        case .drop:
            self.statistics.unresolved(emitted: 0, dropped: expired.count)
        }
    }

    /// Writes the catalog when it changed (or always, with `force`: at shutdown).
    func saveCatalog(force: Bool = false) {
        guard let path = self.configuration.catalogPath else { return }
        do {
            if try self.catalog.save(path: path, force: force) {
                self.logger.debug("item catalog saved", metadata: ["path": "\(path)", "entries": "\(self.catalog.entryCount)"])
            }
        } catch {
            self.logger.error("cannot save the item catalog; it is kept in memory", metadata: ["error": "\(error)"])
        }
    }
}

/// One worker thread: the conversations of its connections, in order.
private final class SideWorker: @unchecked Sendable {
    private struct Connection {
        var decoder: ConnectionDecoder
    }

    private let pipeline: SidePipeline
    private let queue: SideQueue<SideWork>
    private let index: Int
    private let inflater: ZabbixInflater
    private var connections: [UInt64: Connection] = [:]

    init(pipeline: SidePipeline, queue: SideQueue<SideWork>, index: Int) {
        self.pipeline = pipeline
        self.queue = queue
        self.index = index
        self.inflater = ZabbixInflater(maximumSize: pipeline.configuration.maximumFrameSize)
    }

    func run() {
        var nextHousekeeping = ContinuousClock.now + .seconds(1)
        var nextSave = ContinuousClock.now + self.pipeline.configuration.catalogSaveInterval
        while let batch = self.queue.takeAll(timeout: .milliseconds(500)) {
            // The queue's byte budget goes back in steps, not per frame: each release takes the
            // lock the event loops offer under.
            var consumed = (frames: 0, bytes: 0)
            for work in batch {
                if let bytes = self.process(work) {
                    consumed.frames += 1
                    consumed.bytes += bytes
                }
                if consumed.bytes >= Self.releaseStep {
                    self.release(consumed)
                    consumed = (0, 0)
                }
            }
            if consumed.frames > 0 { self.release(consumed) }
            let now = ContinuousClock.now
            if now >= nextHousekeeping {
                nextHousekeeping = now + .seconds(1)
                self.pipeline.settle(self.pipeline.catalog.expire(now: now))
            }
            if self.index == 0, now >= nextSave {
                nextSave = now + self.pipeline.configuration.catalogSaveInterval
                self.pipeline.saveCatalog()
            }
        }
        self.pipeline.workerFinished()
    }

    /// Bytes of consumed frames that are given back to the queue at once (see `run`).
    private static let releaseStep = 256 * 1024

    private func release(_ consumed: (frames: Int, bytes: Int)) {
        self.queue.release(bytes: consumed.bytes)
        self.pipeline.statistics.dequeued(frames: consumed.frames, bytes: consumed.bytes)
    }

    /// Handles one item; returns the byte size of a consumed frame (its share of the queue's budget).
    private func process(_ work: SideWork) -> Int? {
        switch work {
        case .opened(let id, let listener, let peerHost):
            self.connections[id] = Connection(decoder: ConnectionDecoder(listener: listener, peerHost: peerHost, maximumFrameSize: self.pipeline.configuration.maximumFrameSize))
            return nil
        case .closed(let id):
            self.connections[id] = nil
            return nil
        case .frame(let id, let peer, let frame, let afterLoss):
            let bytes = frame.payload.readableBytes
            guard var connection = self.connections[id] else { return bytes }
            self.decode(frame, from: peer, afterLoss: afterLoss, connection: &connection, id: id)
            self.connections[id] = connection
            return bytes
        }
    }

    private func decode(_ frame: ZabbixFrame, from peer: ZabbixPeer, afterLoss: Bool, connection: inout Connection, id: UInt64) {
        guard let message = connection.decoder.decode(frame, from: peer, afterLoss: afterLoss, inflater: self.inflater, statistics: self.pipeline.statistics) else {
            return
        }
        let (released, refused) = self.pipeline.catalog.learn(from: message, listener: connection.decoder.listener)
        self.pipeline.catalogRefused(refused, listener: connection.decoder.listener)
        let values = connection.decoder.values(of: message, connection: id, statistics: self.pipeline.statistics) {
            self.pipeline.filterDuplicates($0)
        }
        let (resolved, expired) = self.pipeline.catalog.resolve(values, listener: connection.decoder.listener, now: .now)
        self.pipeline.emit(released.isEmpty ? resolved : released + resolved)
        self.pipeline.settle(expired)
    }
}
