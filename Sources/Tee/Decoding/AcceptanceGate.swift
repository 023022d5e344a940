import ZabbixProtocol

/// Holds what a request carries — item values, or a proxy configuration pushed by the client —
/// until the reply on the same connection says whether Zabbix took it: an event must mean
/// "Zabbix stored this value", and the catalog must learn only configuration a proxy accepted.
///
/// A pure state machine, one per connection: events in (a request's batch, a reply, the end of
/// the connection or a frame lost on the side), a ``Settlement`` out. It knows no sockets, no
/// clocks and no budget; ``ConnectionDecoder`` charges what it holds to the side pipeline's
/// byte budget and gives it back when the batch is settled.
///
/// Zabbix never pipelines: a request is followed by its reply (or by the end of the
/// connection) before the next request. Only the frame from the other peer that answers the
/// batch settles it; a new batch before a reply settles the old one as unanswered.
struct AcceptanceGate {
    /// What waits for a reply.
    struct Batch {
        /// The values, duplicates already removed.
        var values: [DecodedValue] = []
        /// `history.push` only: the request row each value came from (rows without a value are
        /// skipped in ``values`` but still have a result in the reply).
        var rowIndexes: [Int]? = nil
        /// A configuration a client pushed to a passive proxy, learned only if the proxy accepts it.
        var config: ProxyConfig? {
            get { self.heldConfig?.config }
            set { self.heldConfig = newValue.map(HeldConfig.init) }
        }
        fileprivate var heldConfig: HeldConfig?
        /// Who sent the request: the reply must come from the other peer.
        var from: ZabbixPeer
        /// Rows of the request dropped as duplicates before holding. The server counts them as
        /// failed too (it drops them by the same rule), so they are taken out of its `failed`.
        var duplicates: Int = 0
        /// Bytes charged to the side pipeline's budget for holding it.
        var bytes: Int = 0

        init(config: ProxyConfig? = nil, from: ZabbixPeer) {
            self.heldConfig = config.map(HeldConfig.init)
            self.from = from
        }
    }

    /// A configuration in a batch, behind a reference: nearly every batch holds item values and
    /// no configuration, and a large optional member inline made each batch (and each settlement)
    /// costly to move and to destroy.
    final class HeldConfig {
        let config: ProxyConfig
        init(_ config: ProxyConfig) { self.config = config }
    }

    /// What became of a held batch.
    struct Settlement {
        /// Values the reply accepted (with ``DecodedValue/batchFailed`` set for a partly accepted batch).
        var accepted: [DecodedValue] = []
        /// Values not taken as stored, with why.
        var rejected: [DecodedValue] = []
        var reason: ValueRejection? = nil
        /// A pushed configuration the passive proxy accepted: to be learned.
        var acceptedConfig: ProxyConfig? { self.acceptedHeld?.config }
        fileprivate var acceptedHeld: HeldConfig? = nil
        /// A pushed configuration the proxy did not accept (or did not answer): ignored.
        var refusedConfig: Bool = false
        /// Bytes to give back to the budget.
        var bytes: Int = 0
    }

    private(set) var held: Batch?

    /// Values held now.
    var heldValues: Int { self.held?.values.count ?? 0 }

    /// Holds `batch` until its reply. A batch still held (a request that got no reply before the
    /// next one) is settled as unanswered.
    mutating func hold(_ batch: consuming Batch) -> Settlement? {
        let previous = self.end(.noReply)
        self.held = batch
        return previous
    }

    /// A reply `response` from `peer`. Settles the held batch when `peer` is the one that must
    /// answer it; otherwise (nothing held, or a frame from the requesting side) changes nothing.
    mutating func reply(_ response: ServerResponse, from peer: ZabbixPeer) -> Settlement? {
        guard self.held?.from == peer.other, let batch = self.held.take() else { return nil }
        return Self.settle(batch, response.acceptance)
    }

    /// The batch held cannot get a (readable) reply any more: the connection ended, or a frame was
    /// lost on the side and might have been the reply.
    mutating func end(_ reason: ValueRejection) -> Settlement? {
        guard let batch = self.held.take() else { return nil }
        return Self.settle(batch, .none(reason))
    }

    static func settle(_ batch: Batch, _ acceptance: ValueAcceptance) -> Settlement {
        var settlement = Settlement(bytes: batch.bytes)
        var acceptance = acceptance
        if case .partial(let failed) = acceptance, batch.duplicates > 0 {
            // A retry mixing rows Zabbix has (dropped here already) with new ones.
            acceptance = failed <= Int64(batch.duplicates) ? .all : .partial(failed: failed - Int64(batch.duplicates))
        }
        switch acceptance {
        case .all:
            settlement.accepted = batch.values
            settlement.acceptedHeld = batch.heldConfig
        case .partial(let failed):
            settlement.accepted = batch.values.map { value in
                var value = value
                value.batchFailed = failed
                return value
            }
            // A configuration is all or nothing: a "processed/failed" reply to one is not success.
            settlement.refusedConfig = batch.config != nil
        case .none(let reason):
            settlement.rejected = batch.values
            settlement.reason = reason
            settlement.refusedConfig = batch.config != nil
        case .rows(let accepted):
            let indexes = batch.rowIndexes ?? Array(batch.values.indices)
            for (value, row) in zip(batch.values, indexes) {
                if row < accepted.count, accepted[row] {
                    settlement.accepted.append(value)
                } else {
                    settlement.rejected.append(value)
                }
            }
            if !settlement.rejected.isEmpty { settlement.reason = .rowError }
            settlement.refusedConfig = batch.config != nil
        }
        return settlement
    }
}
