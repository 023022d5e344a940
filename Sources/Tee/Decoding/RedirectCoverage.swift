import Relay

/// Whether a tee listener accepts the address a 7.0 proxy-group redirect sends clients to.
///
/// A proxy group redirects an agent or sender to the proxy its host is assigned to, by that
/// proxy's "address for active agents" (`local_address:local_port`). If no tee listener listens
/// there, the agent's traffic goes around the tee from then on. The tee can only compare
/// addresses: an exact `host:port` match covers it; a wildcard listener (`0.0.0.0`, `::`) on the
/// same port covers it if the address is one of this machine's.
enum RedirectCoverage: Equatable, Sendable {
    /// A listener listens on exactly this address.
    case listener(String)
    /// A wildcard listener listens on this port: covered if the address is this machine's.
    case wildcard(String)
    /// No listener listens there: redirected clients bypass the tee.
    case none

    /// Zabbix's default trapper port, used when a redirect address names no port.
    static let defaultPort = 10051

    /// The coverage of `address` (`host:port`, `[v6]:port` or a bare host) by `listeners`.
    static func of(_ address: String, listeners: [(name: String, listen: [Endpoint])]) -> RedirectCoverage {
        let target: Endpoint
        if let parsed = try? Endpoint(parsing: address) {
            target = parsed
        } else {
            let host =
                address.hasPrefix("[") && address.hasSuffix("]") ? String(address.dropFirst().dropLast()) : address
            target = Endpoint(host: host, port: Self.defaultPort)
        }
        var wildcard: String?
        for listener in listeners {
            for endpoint in listener.listen where endpoint.port == target.port {
                if endpoint.host.lowercased() == target.host.lowercased() { return .listener(listener.name) }
                if ["0.0.0.0", "::", "*"].contains(endpoint.host), wildcard == nil { wildcard = listener.name }
            }
        }
        return wildcard.map(RedirectCoverage.wildcard) ?? .none
    }

    /// For the log line.
    var description: String {
        switch self {
        case .listener(let name): return "covered by listener \(name)"
        case .wildcard(let name): return "covered by wildcard listener \(name) if the address is this host's"
        case .none: return "no tee listener covers it: redirected clients bypass the tee"
        }
    }
}
