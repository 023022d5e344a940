import NIOCore

/// What is known about one relayed connection; handed to taps and used in log metadata.
public struct RelayConnectionInfo: Sendable, Hashable {
    /// Process-wide unique, increasing connection number.
    public var id: UInt64
    /// Name of the listener that accepted the connection.
    public var listener: String
    /// The connecting peer (agent, sender, proxy).
    public var client: SocketAddress?
    /// The address the client connected to (one of the listener's addresses).
    public var local: SocketAddress?
    /// The target the tee connected to on the client's behalf.
    public var target: Endpoint

    public init(id: UInt64, listener: String, client: SocketAddress?, local: SocketAddress?, target: Endpoint) {
        self.id = id
        self.listener = listener
        self.client = client
        self.local = local
        self.target = target
    }
}
