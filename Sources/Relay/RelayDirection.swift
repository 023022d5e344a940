/// Which way bytes travel through a relayed connection.
///
/// The *client* is the side that connected to the tee (an agent, zabbix_sender, a proxy);
/// the *server* is the target the tee connected to on the client's behalf (a Zabbix server or proxy).
public enum RelayDirection: Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Bytes read from the client and written to the server.
    case clientToServer
    /// Bytes read from the server and written to the client.
    case serverToClient

    public var description: String {
        switch self {
        case .clientToServer: return "client-to-server"
        case .serverToClient: return "server-to-client"
        }
    }
}
