/// One of the two sockets of a relayed connection.
///
/// The *client* socket is the one the tee accepted (an agent, zabbix_sender, a proxy); the
/// *server* socket is the one the tee connected to a target on the client's behalf.
public enum RelaySide: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case client = 0
    case server = 1

    /// The socket at the other end of the relay.
    public var other: RelaySide { self == .client ? .server : .client }

    /// The direction of the bytes read from this socket.
    public var readDirection: RelayDirection { self == .client ? .clientToServer : .serverToClient }

    public var description: String { self == .client ? "client" : "server" }
}

extension RelayDirection {
    /// The socket this direction's bytes are read from.
    public var source: RelaySide { self == .clientToServer ? .client : .server }
    /// The socket this direction's bytes are written to.
    public var destination: RelaySide { self == .clientToServer ? .server : .client }
}
