/// What a server's (or proxy's) reply says about the values of the request it answers.
///
/// Zabbix replies to `agent data`, `sender data` and `proxy data` with counts, not with the rows
/// it refused: `processed: 6; failed: 2; total: 8`. Only `history.push` answers row by row.
/// A value is taken as stored only when the reply says so:
///
/// | reply | verdict |
/// |---|---|
/// | a `redirect` object | ``none(_:)`` `.redirect`: the client sends the batch elsewhere |
/// | `response` other than `success` (or absent) | ``none(_:)`` `.failedResponse` |
/// | `history.push` `data[]` | ``rows(_:)``: row *i* stored iff result *i* has no `error` |
/// | `processed: 0` | ``none(_:)`` `.noneProcessed` (includes retries the server dropped as duplicates) |
/// | `failed: 0`, or a bare `success` without counts (`proxy data`) | ``all`` |
/// | `processed: N; failed: M`, both above 0 | ``partial(failed:)``: which rows failed is not said |
public enum ValueAcceptance: Sendable, Hashable {
    case all
    case none(ValueRejection)
    /// Some rows failed, `failed` of them; the reply does not say which.
    case partial(failed: Int64)
    /// One flag per request row (`history.push`).
    case rows([Bool])
}

/// Why values of a request were not taken as stored. The raw values are the
/// `zabbix_tee_item_values_rejected_total{reason}` labels.
public enum ValueRejection: String, Sendable, Hashable, CaseIterable {
    /// `response` was not `success` (malformed request, paused collection, unknown host...).
    case failedResponse = "failed_response"
    /// `processed: 0`: the server stored none of them (unknown host or item, wrong item type,
    /// not in "Allowed hosts", duplicates of rows it already had).
    case noneProcessed = "none_processed"
    /// A 7.0 proxy-group redirect: the client sends the values to another address.
    case redirect
    /// The connection ended (closed, reset, timed out) before a reply.
    case noReply = "no_reply"
    /// The reply (or a frame that may have been it) could not be decoded or was dropped on the
    /// side (queue full, oversized, corrupt): its verdict is unknown.
    case replyUndecoded = "reply_undecoded"
    /// `history.push`: the server refused this row (its `error`).
    case rowError = "row_error"
    /// A batch that was only partly accepted, dropped by `mapping.partial: drop`.
    case partialBatch = "partial_batch"
}

extension ServerResponse {
    /// The verdict on the values of the request this reply answers.
    public var acceptance: ValueAcceptance {
        if self.redirect != nil { return .none(.redirect) }
        guard self.isSuccess else { return .none(.failedResponse) }
        if let results = self.rowResults { return .rows(results.map(\.isAccepted)) }
        if self.processed == 0 { return .none(.noneProcessed) }
        guard let failed = self.failed, failed > 0 else { return .all }
        return .partial(failed: failed)
    }
}
