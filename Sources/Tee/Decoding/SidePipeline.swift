import Foundation
import LogThrottling
import Logging
import NIOCore
import Relay
import Synchronization
import ZabbixProtocol

/// Decodes tapped Zabbix frames off the event loops: inflate, JSON, conversation pairing,
/// catalog, duplicate suppression, the server's verdict; hands the values Zabbix accepted to a
/// sink (see ``ConnectionDecoder`` for the one decode step).
///
/// Each worker thread owns the conversations of the connections assigned to it (by connection
/// id), so frames of one connection are decoded in order, and a request's values wait on that
/// worker for its reply. Producers never wait: a full queue drops the frame and counts it (see
/// ``DecodeStatistics``).
public final class SidePipeline: Sendable {
    public let configuration: DecodeConfiguration
    public let statistics: DecodeStatistics
    public let catalog: ItemCatalogStore
    private let sink: any ItemValueSink
    let logger: Logger
    /// One per worker; the taps fill them through their event loop's ``SideBatch``.
    let queues: [SideQueue<SideWork>]
    /// Every frame held for decoding — arriving in the taps, queued, being decoded — and every
    /// value waiting for its server's reply (`decode.queue_bytes`).
    let frameBytes: ByteBudget
    let duplicates: SharedDuplicateFilter
    /// The tee's listeners and their addresses, to tell whether a redirect's target is covered.
    private let listeners = Mutex<[(name: String, listen: [Endpoint])]>([])
    private let running = Mutex<(workers: Int, waiters: [CheckedContinuation<Void, Never>])>((0, []))
    /// Limits hit on the side (oversized frames, a full catalog): warned about once per interval.
    let warnings: LogThrottle<LimitWarning>
    /// Asks the Zabbix API about itemids the wire did not name (`catalog.zabbix_api`); replaced
    /// by a reload. See `SidePipeline+CatalogAPI.swift`.
    let catalogAPI = Mutex<CatalogAPIClient?>(nil)
    public let catalogAPIStatistics = CatalogAPIStatistics()
    /// Where the API client runs; `nil`: no API lookups (the `decode` command, tests).
    let apiEventLoop: (any EventLoop)?
    /// The time ``warnings`` are throttled by: the wall clock, or a test's virtual one.
    private let now: @Sendable () -> NIODeadline

    /// A limit of the side pipeline, for ``warnings``.
    enum LimitWarning: Hashable, Sendable {
        /// A frame above `decode.max_frame_size` on this listener.
        case oversizedFrame(listener: String)
        /// The item catalog is at `catalog.max_entries`.
        case catalogFull
        /// Replies on this listener redirect clients to this address (7.0 proxy groups).
        case redirect(listener: String, address: String)
    }

    /// - Parameters:
    ///   - warningInterval: the shortest time between two warnings about the same limit.
    ///   - now: the clock the warnings are throttled by (tests pass a virtual one).
    ///   - apiEventLoop: where the Zabbix API client (`catalog.zabbix_api`) runs.
    public init(
        configuration: DecodeConfiguration,
        statistics: DecodeStatistics = DecodeStatistics(),
        catalog: ItemCatalogStore? = nil,
        sink: any ItemValueSink,
        logger: Logger,
        warningInterval: TimeAmount = .seconds(60),
        now: @escaping @Sendable () -> NIODeadline = { .now() },
        apiEventLoop: (any EventLoop)? = nil
    ) {
        self.configuration = configuration
        self.apiEventLoop = apiEventLoop
        self.statistics = statistics
        self.catalog = catalog ?? ItemCatalogStore(configuration: configuration)
        self.sink = sink
        self.logger = logger
        self.warnings = LogThrottle(interval: warningInterval)
        self.now = now
        let frameBytes = ByteBudget(limit: configuration.queueBytes)
        self.frameBytes = frameBytes
        let workers = max(1, configuration.workers)
        self.queues = (0..<workers).map { _ in
            SideQueue(maximumItems: max(1, configuration.queueFrames / workers), bytes: frameBytes)
        }
        self.duplicates = SharedDuplicateFilter(maximumSessions: configuration.duplicateSessions)
    }

    /// The tap that feeds this pipeline from relayed connections.
    public var tapFactory: ZabbixTapFactory { ZabbixTapFactory(pipeline: self) }

    /// The tap for a listener; `passiveProxy`: the listener sits in front of a passive proxy, so
    /// configuration the server pushes through it is learned (once the proxy accepts it).
    public func tapFactory(passiveProxy: Bool) -> ZabbixTapFactory {
        ZabbixTapFactory(pipeline: self, passiveProxy: passiveProxy)
    }

    /// Tells the pipeline which addresses the tee listens on (at start and after a reload), to
    /// say in the log whether a redirect's target is covered by a listener.
    public func listenersChanged(_ listeners: [(name: String, listen: [Endpoint])]) {
        self.listeners.withLock { $0 = listeners }
    }

    /// Starts the worker threads.
    public func start() {
        self.running.withLock { $0.workers = self.queues.count }
        for (index, queue) in self.queues.enumerated() {
            let worker = SideWorker(pipeline: self, queue: queue, index: index)
            let thread = Thread { worker.run() }
            thread.name = "zabbix-tee-decode-\(index)"
            thread.start()
        }
        self.configureCatalogAPI(self.configuration.zabbixAPI)
    }

    /// Stops accepting frames, decodes what is queued, settles the values still waiting for the
    /// catalog (emit or drop, as configured), and saves the catalog.
    public func shutdown() async {
        for queue in self.queues { queue.close() }
        self.configureCatalogAPI(nil)
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

    /// The queue (and worker) of `connection`, among `queues`: all its items go there, in order.
    static func queueIndex(of connection: UInt64, queues: Int) -> Int {
        Int(connection % UInt64(queues))
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
            "peer": "\(connection.client?.displayText ?? "unknown")",
            "from": "\(peer == .client ? "client" : "server")",
            "frame_bytes": "\(header.dataLength)", "max_frame_size": "\(self.configuration.maximumFrameSize)",
        ]
        if header.isCompressed { metadata["decoded_bytes"] = "\(header.reserved)" }
        self.warnings.warning(
            .oversizedFrame(listener: connection.listener),
            "frame larger than decode.max_frame_size; not decoded (relayed unchanged)",
            logger: self.logger,
            metadata: metadata,
            now: self.now()
        )
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
            ],
            now: self.now()
        )
    }

    /// Values whose itemid stayed unknown.
    func settle(_ expired: [DecodedValue]) {
        self.emit(
            UnresolvedValues.settle(expired, action: self.configuration.unresolvedAction, statistics: self.statistics)
        )
    }

    /// A reply on `listener` sent its client to `redirect`'s address: counted per listener and
    /// address, and logged (throttled) with whether a tee listener covers that address.
    func redirected(_ redirect: ZabbixRedirect, listener: String, connection: UInt64) {
        let address = redirect.address.map { String($0.prefix(256)) } ?? (redirect.reset ? "reset" : "unknown")
        // The label (bounded: `other` past a limit) also keys the log throttle, so it stays bounded too.
        let label = self.statistics.redirected(listener: listener, address: address)
        guard let target = redirect.address else { return }
        let coverage = RedirectCoverage.of(target, listeners: self.listeners.withLock { $0 })
        guard let suppressed = self.warnings.record(.redirect(listener: listener, address: label), now: self.now())
        else { return }
        var metadata: Logger.Metadata = [
            "listener": "\(listener)", "connection": "\(connection)", "address": "\(address)",
            "covered": "\(coverage != .none)",
        ]
        if suppressed > 0 { metadata["suppressed-since-last-warning"] = "\(suppressed)" }
        // Covered: the traffic still passes a tee listener. Not covered: the tee loses it.
        self.logger.log(
            level: coverage == .none ? .warning : .notice,
            "Zabbix redirected a client to another proxy of its proxy group (reply relayed unchanged); \(coverage.description)",
            metadata: metadata
        )
    }

    /// Writes the catalog when it changed (or always, with `force`: at shutdown).
    func saveCatalog(force: Bool = false) {
        guard let path = self.configuration.catalogPath else { return }
        do {
            if try self.catalog.save(path: path, force: force) {
                self.logger.debug(
                    "item catalog saved",
                    metadata: ["path": "\(path)", "entries": "\(self.catalog.entryCount)"]
                )
            }
        } catch {
            self.logger.error("cannot save the item catalog; it is kept in memory", metadata: ["error": "\(error)"])
        }
    }
}

/// One worker thread: the conversations of its connections, in order.
private final class SideWorker: @unchecked Sendable {
    private let pipeline: SidePipeline
    private let queue: SideQueue<SideWork>
    private let index: Int
    private let context: DecodeContext

    init(pipeline: SidePipeline, queue: SideQueue<SideWork>, index: Int) {
        self.pipeline = pipeline
        self.queue = queue
        self.index = index
        self.context = DecodeContext(
            catalog: pipeline.catalog,
            duplicates: pipeline.duplicates,
            statistics: pipeline.statistics,
            inflater: ZabbixInflater(maximumSize: pipeline.configuration.maximumFrameSize),
            budget: pipeline.frameBytes
        )
    }

    func run() {
        var nextHousekeeping = ContinuousClock.now + .seconds(1)
        var nextSave = ContinuousClock.now + self.pipeline.configuration.catalogSaveInterval
        // A local, passed down `inout`: as a stored property of this class, every access (several
        // per frame) went through the runtime's dynamic exclusivity check.
        var connections: [UInt64: ConnectionDecoder] = [:]
        while let batch = self.queue.takeAll(timeout: .milliseconds(500)) {
            // The queue's byte budget goes back in steps, not per frame: each release takes the
            // lock the event loops offer under.
            var consumed = (frames: 0, bytes: 0, charge: 0)
            // One reading of the clock per batch, not per frame: only values that wait for the
            // catalog use it (their deadline), and a batch is decoded within milliseconds.
            let batchStart = ContinuousClock.now
            // Through the buffer: each item is read in place, not copied out of the batch first
            // (an array's subscript hands out a copy). The batch comes in chunks, as the event
            // loops appended them (see `SideBatch`).
            for chunk in batch {
                chunk.withUnsafeBufferPointer { items in
                    for index in items.indices {
                        if let frame = self.process(items[index], connections: &connections, now: batchStart) {
                            consumed.frames += 1
                            consumed.bytes += frame.bytes
                            consumed.charge += frame.charge
                        }
                        if consumed.charge >= Self.releaseStep {
                            self.release(consumed)
                            consumed = (0, 0, 0)
                        }
                    }
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
        // Closed at shutdown: connections whose close never reached the queue got no reply either.
        for (id, var decoder) in connections {
            self.handle(decoder.finish(context: self.context), connection: id, listener: decoder.listener)
        }
        connections = [:]
        self.pipeline.workerFinished()
    }

    /// Bytes of consumed frames that are given back to the queue at once (see `run`).
    private static let releaseStep = 256 * 1024

    /// Gives back the frames' charges (`SideWork.frame`) and counts their payload bytes out.
    private func release(_ consumed: (frames: Int, bytes: Int, charge: Int)) {
        self.queue.release(bytes: consumed.charge)
        self.pipeline.statistics.dequeued(frames: consumed.frames, bytes: consumed.bytes)
    }

    /// Handles one item; for a consumed frame, returns its payload's size and its charge (its
    /// share of the queue's budget).
    private func process(
        _ work: SideWork,
        connections: inout [UInt64: ConnectionDecoder],
        now: ContinuousClock.Instant
    ) -> (bytes: Int, charge: Int)? {
        switch work {
        case .opened(let id, let listener, let peerHost, let passiveProxy):
            connections[id] = ConnectionDecoder(
                listener: listener,
                peerHost: peerHost,
                passiveProxy: passiveProxy,
                connection: id,
                maximumFrameSize: self.pipeline.configuration.maximumFrameSize
            )
            return nil
        case .closed(let id):
            if var decoder = connections.removeValue(forKey: id) {
                self.handle(decoder.finish(context: self.context, now: now), connection: id, listener: decoder.listener)
            }
            return nil
        case .frame(let id, let peer, let header, let payload, let afterLoss):
            let consumed = (bytes: payload.count, charge: payload.charge)
            // Decoded in place: a copy taken out of the dictionary and written back would copy
            // the decoder, and its held values on write, once per frame.
            guard let index = connections.index(forKey: id) else { return consumed }
            var step = ConnectionDecoder.Step()
            connections.values[index].process(
                ZabbixFrame(header: header, payload: payload.buffer),
                from: peer,
                afterLoss: afterLoss,
                context: self.context,
                now: now,
                into: &step
            )
            self.handle(step, connection: id, listener: connections.values[index].listener)
            return consumed
        }
    }

    /// `listener` is read only when the step has something to log (reading it copies the decoder).
    private func handle(_ step: ConnectionDecoder.Step, connection: UInt64, listener: @autoclosure () -> String) {
        if step.catalogRefused > 0 { self.pipeline.catalogRefused(step.catalogRefused, listener: listener()) }
        if let redirect = step.redirect {
            self.pipeline.redirected(redirect, listener: listener(), connection: connection)
        }
        self.pipeline.emit(step.ready)
        self.pipeline.settle(step.unresolved)
        if !step.lookups.isEmpty { self.pipeline.lookUp(step.lookups) }
    }
}
