import ZabbixProtocol

/// What the tap hands to the side pipeline.
enum SideWork: Sendable {
    /// A relayed connection started (listener, id, and the agent's address for passive checks).
    case opened(connection: UInt64, listener: String, peerHost: String?)
    /// A complete frame sent by `peer`. `afterLoss`: frames of this connection were skipped or
    /// dropped since the previous one, so the exchange in progress cannot be trusted.
    case frame(connection: UInt64, peer: ZabbixPeer, frame: ZabbixFrame, afterLoss: Bool)
    /// The connection closed: its conversation state can go.
    case closed(connection: UInt64)
}
