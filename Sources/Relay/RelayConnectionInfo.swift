import NIOCore

/// What is known about one relayed connection; handed to taps and used in log metadata.
public struct RelayConnectionInfo: Sendable, Hashable {
    /// Process-wide unique, increasing connection number.
    public var id: UInt64
    /// Name of the listener that accepted the connection.
    public var listener: String
    /// The connecting peer (agent, sender, proxy). Made from the address the kernel gave when it
    /// is asked for: a tap that never logs it costs no allocation per connection.
    public var client: SocketAddress? {
        get {
            switch self.peer {
            case .address(let address): return address
            case .raw(let raw): return raw.socketAddress
            }
        }
        set { self.peer = .address(newValue) }
    }
    /// The address the client connected to (one of the listener's addresses).
    public var local: SocketAddress?
    /// The target the tee connected to on the client's behalf.
    public var target: Endpoint

    private enum Peer: Sendable {
        case address(SocketAddress?)
        case raw(RawSocketAddress)
    }

    private var peer: Peer

    public init(id: UInt64, listener: String, client: SocketAddress?, local: SocketAddress?, target: Endpoint) {
        self.init(id: id, listener: listener, peer: .address(client), local: local, target: target)
    }

    /// For a connection the kernel accepted from `client`.
    init(id: UInt64, listener: String, client: RawSocketAddress, local: SocketAddress?, target: Endpoint) {
        self.init(id: id, listener: listener, peer: .raw(client), local: local, target: target)
    }

    private init(id: UInt64, listener: String, peer: Peer, local: SocketAddress?, target: Endpoint) {
        self.id = id
        self.listener = listener
        self.peer = peer
        self.local = local
        self.target = target
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.id == rhs.id && lhs.listener == rhs.listener && lhs.client == rhs.client && lhs.local == rhs.local
            && lhs.target == rhs.target
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.id)
        hasher.combine(self.listener)
        hasher.combine(self.client)
        hasher.combine(self.local)
        hasher.combine(self.target)
    }
}
