import ZabbixProtocol

/// What the tap hands to the side pipeline.
enum SideWork: Sendable {
    /// A relayed connection started (listener, id, the agent's address for passive checks, and
    /// whether the listener sits in front of a passive proxy).
    case opened(connection: UInt64, listener: String, peerHost: String?, passiveProxy: Bool)
    /// A complete frame sent by `peer`, with `header` and `payload`. `afterLoss`: frames of this
    /// connection were skipped or dropped since the previous one, so the exchange in progress
    /// cannot be trusted.
    case frame(connection: UInt64, peer: ZabbixPeer, header: ZabbixFrameHeader, payload: SidePayload, afterLoss: Bool)
    /// The connection closed: what still waits for a reply gets none; its conversation state can go.
    case closed(connection: UInt64)
}
