import Foundation
import NIOCore
import ZabbixProtocol

/// The decoding state of one relayed connection, and the one decode step every frame goes
/// through: inflate → message → learn → dedupe → hold until the reply → resolve.
///
/// Shared by the side pipeline's workers and by ``CaptureDecoder`` (the `decode` command and the
/// fixture tests), so that recorded traffic is decoded exactly as live traffic is. What the
/// connections of one pipeline share — catalog, duplicate filter, statistics, inflater, byte
/// budget — comes in once, as a ``DecodeContext``.
///
/// The order of the two waits a value may have (see README "What an event means"):
/// 1. the **server's verdict**, on this connection, usually within milliseconds: values are held
///    (charged to the byte budget) until the reply; rejected and unanswered ones are counted and
///    never reach the catalog or the sink;
/// 2. then, for itemid-only values, the **catalog**: accepted values whose itemid is not known
///    yet wait there (up to `catalog.unresolved_wait`) for an `active checks` reply or a proxy
///    configuration on another connection.
/// Deciding first keeps the catalog's wait list for values Zabbix took, so a client cannot fill
/// it with values the server refuses, and the wait for the reply is never stretched by the
/// catalog's.
///
/// The catalog learns only what a real server or proxy said: `active checks` replies and proxy
/// configuration replies only from the target side; a configuration the client pushes (the
/// server pushing to a passive proxy) only on a listener declared `passive_proxy`, and only once
/// the proxy answered `success`.
struct ConnectionDecoder {
    let listener: String
    /// The relay target's host: names the agent in passive checks, which carry no host name.
    let peerHost: String?
    /// Whether the listener sits in front of a passive proxy (`listeners[].passive_proxy`).
    let passiveProxy: Bool
    /// The relayed connection's id, as in the logs.
    let connection: UInt64
    private var conversation: ZabbixConversation
    private var gate = AcceptanceGate()

    /// - Parameter maximumFrameSize: `decode.max_frame_size`, which sets what one payload may
    ///   keep (``payloadBudget(maximumFrameSize:)``).
    init(listener: String, peerHost: String?, passiveProxy: Bool = false, connection: UInt64, maximumFrameSize: Int) {
        self.listener = listener
        self.peerHost = peerHost
        self.passiveProxy = passiveProxy
        self.connection = connection
        self.conversation = ZabbixConversation(budget: Self.payloadBudget(maximumFrameSize: maximumFrameSize))
    }

    /// What one payload may keep (``ZabbixConversation/budget``): `decode.max_frame_size`, and at
    /// least 64 MiB — about 90 000 values (an agent sends at most 65 535 per frame) or 600 000
    /// proxy configuration items — so that a small frame limit never refuses a legitimate frame
    /// for the memory its values take.
    static func payloadBudget(maximumFrameSize: Int) -> Int {
        max(maximumFrameSize, 64 << 20)
    }

    /// What one frame (or the end of the connection) produced.
    struct Step {
        /// The decoded message, when the context keeps messages (``DecodeContext/keepsMessages``);
        /// `nil` when the frame could not be decoded.
        var message: ZabbixMessage?
        /// Values accepted by the server and resolved: for the sink.
        var ready: [DecodedValue] = []
        /// Values accepted by the server whose itemid the catalog could not wait for (its wait list
        /// is full or they name no catalog): to be settled by `catalog.unresolved`.
        var unresolved: [DecodedValue] = []
        /// Itemids of values now waiting for the catalog: for the Zabbix API, when configured.
        var lookups: [UInt64] = []
        /// A reply that sends the client elsewhere (7.0 proxy groups).
        var redirect: ZabbixRedirect?
        /// Items and hosts the catalog refused (full, or a proxy's quota).
        var catalogRefused = 0
    }

    /// Decodes one frame sent by `peer`. `afterLoss`: frames of this connection were skipped or
    /// dropped on the side since the previous one.
    mutating func process(
        _ frame: ZabbixFrame,
        from peer: ZabbixPeer,
        afterLoss: Bool,
        context: DecodeContext,
        now: ContinuousClock.Instant = .now
    ) -> Step {
        var step = Step()
        self.process(frame, from: peer, afterLoss: afterLoss, context: context, now: now, into: &step)
        return step
    }

    /// ``process(_:from:afterLoss:context:now:)`` into a step the caller holds: the side
    /// pipeline's workers use it, as a step returned from this long function was copied out once
    /// more (its arrays and message retained and released).
    mutating func process(
        _ frame: ZabbixFrame,
        from peer: ZabbixPeer,
        afterLoss: Bool,
        context: DecodeContext,
        now: ContinuousClock.Instant,
        into step: inout Step
    ) {
        if afterLoss {
            // The lost frame may have been the reply: its verdict is unknown.
            self.conversation.forgetFrame(from: peer)
            if let settlement = self.gate.end(.replyUndecoded) {
                self.apply(settlement, to: &step, context: context, now: now)
            }
        }
        guard let message = self.decode(frame, from: peer, context: context) else {
            if let settlement = self.gate.end(.replyUndecoded) {
                self.apply(settlement, to: &step, context: context, now: now)
            }
            return
        }
        // The values read first, and the message then taken apart rather than copied for each
        // case that binds its payload.
        let values = message.itemValues
        if context.keepsMessages { step.message = message }
        switch consume message {
        case .activeChecksResponse(let response):
            if peer == .server { step.redirect = response.redirect }
            guard response.items != nil else { break }
            if peer == .server {
                let (released, refused) = context.catalog.learn(response, listener: self.listener)
                self.resolvedLater(released, into: &step, context: context)
                step.catalogRefused += refused
            } else {
                context.statistics.catalogUpdateIgnored(.wrongSide)
            }
        case .proxyConfig(let config):
            if peer == .server {
                // An active proxy's configuration, as the server sent it.
                let (released, refused) = context.catalog.learn(config, listener: self.listener)
                self.resolvedLater(released, into: &step, context: context)
                step.catalogRefused += refused
            } else if self.passiveProxy {
                // The server pushing to the passive proxy behind this listener: learned once the
                // proxy accepts it.
                self.hold(
                    AcceptanceGate.Batch(config: config, from: peer),
                    bytes: Self.estimatedBytes(config),
                    into: &step,
                    context: context,
                    now: now
                )
            } else {
                context.statistics.catalogUpdateIgnored(.untrustedListener)
            }
        case .response(let response):
            // Only Zabbix, on the accepting side, redirects its clients.
            if peer == .server { step.redirect = response.redirect }
            if let settlement = self.gate.reply(response, from: peer) {
                self.apply(settlement, to: &step, context: context, now: now)
            }
        case .passiveCheckResponse(let response):
            // The value is in the reply itself: nothing to wait for.
            var decoded = self.decodedValues(values, version: response.version)
            for index in decoded.indices where decoded[index].value.host == nil {
                decoded[index].value.host = self.peerHost
            }
            if let first = decoded.first {
                context.statistics.summarize(DecodeStatistics.SummaryKey(first), count: decoded.count) {
                    $0.decoded += $1
                    $0.accepted += $1
                }
            }
            step.ready.append(contentsOfOrTake: decoded)
        case .agentData(let data):
            self.holdValues(
                values,
                version: data.version,
                from: peer,
                into: &step,
                context: context,
                now: now
            )
        case .proxyData(let data):
            self.holdValues(
                values,
                version: data.version,
                from: peer,
                into: &step,
                context: context,
                now: now
            )
        case .senderData:
            self.holdValues(values, version: nil, from: peer, into: &step, context: context, now: now)
        case .historyPush(let push):
            let rows = ItemValue.values(of: push)
            var batch = AcceptanceGate.Batch(from: peer)
            batch.values = self.decodedValues(rows.map(\.value), version: nil)
            batch.rowIndexes = rows.map(\.row)
            if let first = batch.values.first {
                context.statistics.summarize(DecodeStatistics.SummaryKey(first), count: batch.values.count) {
                    $0.decoded += $1
                }
            }
            self.hold(
                batch,
                bytes: batch.values.reduce(0) { $0 + $1.estimatedBytes },
                into: &step,
                context: context,
                now: now
            )
        case .unrecognized:
            // Not the reply a held batch needs (text where JSON was due, JSON without a request
            // or a known shape): its verdict cannot be read.
            if let held = self.gate.held, held.from == peer.other {
                if let settlement = self.gate.end(.replyUndecoded) {
                    self.apply(settlement, to: &step, context: context, now: now)
                }
            }
        case .activeChecksRequest, .activeCheckHeartbeat, .proxyHeartbeat, .proxyDataRequest, .proxyConfigRequest,
            .proxyConfigStatus, .passiveCheckRequest, .other:
            break
        }
    }

    /// The connection ended: whatever still waits for a reply never gets one.
    mutating func finish(context: DecodeContext, now: ContinuousClock.Instant = .now) -> Step {
        var step = Step()
        if let settlement = self.gate.end(.noReply) {
            self.apply(settlement, to: &step, context: context, now: now)
        }
        return step
    }

    // MARK: Decoding

    /// Inflates and decodes one frame; `nil` (counted) when it cannot be decoded.
    private mutating func decode(_ frame: ZabbixFrame, from peer: ZabbixPeer, context: DecodeContext) -> ZabbixMessage?
    {
        let payload: ByteBuffer
        do {
            payload = try context.inflater.decodedPayload(of: frame)
        } catch {
            context.statistics.failed(.corruptCompression)
            self.conversation.forgetFrame(from: peer)
            return nil
        }
        defer { context.statistics.rowsDropped(self.conversation.takeDroppedRows()) }
        do {
            let message = try self.conversation.decode(payload, from: peer)
            context.statistics.frameDecoded(message: message.kindName, flags: frame.header.flags.rawValue)
            return message
        } catch {
            switch error {
            case .invalidJSON: context.statistics.failed(.invalidJSON)
            case .budgetExceeded: context.statistics.failed(.budgetExceeded)
            }
            self.conversation.forgetFrame(from: peer)
            return nil
        }
    }

    /// `values` with where they were seen. `version` is kept as the sender wrote it (shared, not
    /// copied): the summary shows it as is (`8.0.0rc1`, agent 2's long version), cut to a bound.
    ///
    /// Each value is moved out of `values` into its decoded value, not copied (a copy retains and
    /// releases every string it holds): pass an array nothing else shares.
    private func decodedValues(_ values: consuming [ItemValue], version: String?) -> [DecodedValue] {
        guard !values.isEmpty else { return [] }
        let seenAt = Int64(Date().timeIntervalSince1970 * 1_000_000)
        var values = consume values
        var decoded: [DecodedValue] = []
        decoded.reserveCapacity(values.count)
        // Taken from the back, so reversed first (swaps move, they do not copy).
        values.reverse()
        while let value = values.popLast() {
            decoded.append(
                DecodedValue(
                    value: value,
                    listener: self.listener,
                    connection: self.connection,
                    seenAtMicros: seenAt,
                    peerHost: self.peerHost,
                    zabbixVersion: version
                )
            )
        }
        return decoded
    }

    // MARK: Holding until the reply

    /// Holds a request's values (duplicates of rows already accepted removed) until its reply.
    private mutating func holdValues(
        _ rows: consuming [ItemValue],
        version: String?,
        from peer: ZabbixPeer,
        into step: inout Step,
        context: DecodeContext,
        now: ContinuousClock.Instant
    ) {
        let total = rows.count
        let requestType = rows.first?.requestType
        // `rows` ends here: unseen hands back the same array when nothing was dropped, and the
        // values are moved out of it only if nothing else shares it.
        let fresh = context.duplicates.unseen(consume rows)
        let decodedCount = fresh.count
        let dropped = total - decodedCount
        let values = self.decodedValues(consume fresh, version: version)
        if dropped > 0 { context.statistics.duplicatesDropped(dropped) }
        if let requestType {
            let key = DecodeStatistics.SummaryKey(request: requestType, version: version)
            context.statistics.summarize(key, count: total) { counts, _ in
                counts.decoded += decodedCount
                counts.duplicates += dropped
            }
        }
        var batch = AcceptanceGate.Batch(from: peer)
        batch.values = values
        batch.duplicates = dropped
        self.hold(batch, bytes: values.reduce(0) { $0 + $1.estimatedBytes }, into: &step, context: context, now: now)
    }

    private mutating func hold(
        _ batch: consuming AcceptanceGate.Batch,
        bytes: Int,
        into step: inout Step,
        context: DecodeContext,
        now: ContinuousClock.Instant
    ) {
        // Whatever still waited gets no reply now: a new request has started.
        if let settlement = self.gate.end(.noReply) {
            self.apply(settlement, to: &step, context: context, now: now)
        }
        guard !batch.values.isEmpty || batch.config != nil else { return }
        guard context.budget.reserve(bytes) else {
            context.statistics.failed(.holdBudget)
            if batch.config != nil { context.statistics.catalogUpdateIgnored(.notAccepted) }
            return
        }
        batch.bytes = bytes
        context.statistics.holding(values: batch.values.count, bytes: bytes)
        _ = self.gate.hold(batch)
    }

    /// Carries out what a settled batch means: counts, the duplicate filter, the catalog.
    ///
    /// Callers take the gate's settlement first and pass it in: `self.apply(self.gate.end(…))`
    /// would copy the whole decoder for the call, since the argument mutates `self`.
    private func apply(
        _ settlement: AcceptanceGate.Settlement,
        to step: inout Step,
        context: DecodeContext,
        now: ContinuousClock.Instant
    ) {
        let statistics = context.statistics
        context.budget.release(settlement.bytes)
        statistics.holding(values: -(settlement.accepted.count + settlement.rejected.count), bytes: -settlement.bytes)
        // The values of a batch come from one message: one summary row, one lock.
        if let reason = settlement.reason, let first = settlement.rejected.first {
            statistics.rejected(reason, count: settlement.rejected.count)
            let unanswered = reason == .noReply || reason == .replyUndecoded
            statistics.summarize(DecodeStatistics.SummaryKey(first), count: settlement.rejected.count) {
                if unanswered { $0.unanswered += $1 } else { $0.rejected += $1 }
            }
        }
        if let first = settlement.accepted.first {
            let accepted = settlement.accepted
            // Only rows the server took are remembered: a retry after a lost reply is decoded again.
            context.duplicates.remember(accepted)
            let (resolved, expired, waiting) = context.catalog.resolve(accepted, listener: self.listener, now: now)
            var throughCatalog = 0
            for value in resolved where value.value.itemid != nil { throughCatalog += 1 }
            let partial = first.batchFailed != nil
            statistics.summarize(DecodeStatistics.SummaryKey(first), count: accepted.count) {
                $0.accepted += $1
                if partial { $0.partial += $1 }
                $0.resolved += throughCatalog
            }
            step.ready.append(contentsOfOrTake: resolved)
            step.unresolved.append(contentsOfOrTake: expired)
            step.lookups.append(contentsOfOrTake: waiting)
        }
        if let config = settlement.acceptedConfig {
            let (released, refused) = context.catalog.learn(config, listener: self.listener)
            self.resolvedLater(released, into: &step, context: context)
            step.catalogRefused += refused
        }
        if settlement.refusedConfig { statistics.catalogUpdateIgnored(.notAccepted) }
    }

    /// Values that waited for the catalog and are now resolved.
    private func resolvedLater(_ released: [DecodedValue], into step: inout Step, context: DecodeContext) {
        guard !released.isEmpty else { return }
        context.statistics.summarize(released) { $0.resolved += $1 }
        step.ready.append(contentsOfOrTake: released)
    }

    /// What holding a pushed configuration until the proxy's answer costs, roughly.
    private static func estimatedBytes(_ config: ProxyConfig) -> Int {
        config.items.reduce(128 * config.items.count) { $0 + $1.key.utf8.count }
            + config.hosts.reduce(96 * config.hosts.count) { $0 + $1.host.utf8.count }
    }
}

/// Settles accepted values whose itemid stayed unknown, as `catalog.unresolved` says: the one
/// place the `itemid:N` fallback is applied (the live pipeline and the `decode` command).
enum UnresolvedValues {
    /// The values to emit (with key `itemid:N`), counting both outcomes.
    static func settle(
        _ values: [DecodedValue],
        action: DecodeConfiguration.UnresolvedAction,
        statistics: DecodeStatistics
    ) -> [DecodedValue] {
        guard !values.isEmpty else { return [] }
        statistics.summarize(values) { $0.unresolved += $1 }
        switch action {
        case .emit:
            statistics.unresolved(emitted: values.count, dropped: 0)
            return values.map { decoded in
                var decoded = decoded
                if decoded.value.key == nil, let itemid = decoded.value.itemid {
                    decoded.value.key = DecodedValue.fallbackKey(itemid: itemid)
                }
                return decoded
            }
        case .drop:
            statistics.unresolved(emitted: 0, dropped: values.count)
            return []
        }
    }
}

extension Array {
    /// Appends `other`, or takes it whole when this array is empty (no copy of its elements).
    mutating func append(contentsOfOrTake other: [Element]) {
        if self.isEmpty { self = other } else { self += other }
    }
}
