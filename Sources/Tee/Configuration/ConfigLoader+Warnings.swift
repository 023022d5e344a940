import Relay

#if canImport(Glibc)
import Glibc
#endif

extension ConfigLoader {
    /// Why binding the admin endpoint to `host` may expose it, or `nil` for a loopback address.
    static func adminExposure(host: String) -> String? {
        if host == "localhost" { return nil }
        guard let address = IPAddress(parsing: host) else {
            return
                "\(host) is a host name, which may resolve to a public address; /metrics, /health and /ready have no authentication: bind the admin endpoint to 127.0.0.1 (or ::1), or protect the port with a firewall"
        }
        if address.isLoopback { return nil }
        let which = address.isUnspecified ? "every address of this host" : "a non-loopback address"
        return
            "\(host) is \(which); /metrics, /health and /ready have no authentication and anyone who can reach the port can read them: bind the admin endpoint to 127.0.0.1 (or ::1), or protect the port with a firewall"
    }
}

extension ConfigLoader {
    /// Whether `host` (a listen or target host) is this machine's loopback: `localhost`,
    /// `127.0.0.0/8`, `::1`.
    static func isLoopback(host: String) -> Bool {
        host == "localhost" || IPAddress(parsing: host)?.isLoopback == true
    }

    /// A listener relaying to its own listen address would connect to itself, again and again,
    /// until `max_connections` is reached.
    static func listenerWarnings(_ listener: RelayListenerConfiguration, item: ConfigNode) -> [ConfigWarning] {
        let targetNodes = item["targets"].flatMap { try? $0.sequence() } ?? []
        var warnings: [ConfigWarning] = []
        for (target, node) in zip(listener.targets, targetNodes) {
            guard let own = listener.listen.first(where: { Self.isSameSocket(listen: $0, target: target) }) else {
                continue
            }
            warnings.append(
                node.warning(
                    "\(target) is this listener's own listen address \(own): every connection would be relayed back to the tee itself; point targets at the Zabbix server or proxy"
                )
            )
        }
        return warnings
    }

    /// Whether connecting to `target` reaches the socket listening on `listen`, as far as the
    /// configuration shows (host names other than `localhost` are not resolved).
    private static func isSameSocket(listen: Endpoint, target: Endpoint) -> Bool {
        guard listen.port == target.port else { return false }
        if listen.host == target.host { return true }
        let listenAddress = IPAddress(parsing: listen.host)
        let targetIsLoopback = Self.isLoopback(host: target.host)
        if listenAddress?.isUnspecified == true {
            return targetIsLoopback || IPAddress(parsing: target.host)?.isUnspecified == true
        }
        return Self.isLoopback(host: listen.host) && targetIsLoopback
            && (listen.host == "localhost" || target.host == "localhost")
    }

    /// What to know about a `record:` directory before the tee writes into it.
    static func recordingWarnings(_ node: ConfigNode, path: String) -> [ConfigWarning] {
        var warnings = [
            node.warning(
                "recordings hold the relayed traffic in clear: item values, and the proxy configuration with its macro values, which may be secrets; record only while you need to, and remove the recordings afterwards"
            )
        ]
        if !path.hasPrefix("/") {
            warnings.append(
                node.warning(
                    "\(path) is a relative path: it is resolved against the tee's working directory, which differs between a shell and systemd; use an absolute path"
                )
            )
        }
        let findings = RecordingDirectory.inspect(path)
        if !findings.isEmpty {
            let refused = findings.contains(where: \.refuses)
            warnings.append(
                node.warning(
                    "\(path) \(findings.map(\.description).joined(separator: " and "))\(refused ? "; the tee will refuse to record there" : ""): use a directory of the tee's own user, mode 0700"
                )
            )
        }
        return warnings
    }

    /// A catalog in a directory anyone may write to can be replaced or blocked by another user.
    static func catalogWarnings(_ node: ConfigNode, path: String?) -> [ConfigWarning] {
        guard let path else { return [] }
        let pathNode = node["path"] ?? node
        let directory = AtomicFile.directory(of: path)
        var info = stat()
        guard stat(directory, &info) == 0 else {
            return [
                pathNode.warning(
                    "the directory \(directory) does not exist (\(SystemError.current)): the catalog cannot be saved"
                )
            ]
        }
        guard info.st_mode & S_IWOTH != 0 else { return [] }
        return [
            pathNode.warning(
                "the directory \(directory) is writable by every user: another user could replace the catalog (which decides the host and key of itemid-only values) or block its saves; use a directory of the tee's own, e.g. /var/lib/zabbix-tee (StateDirectory= in the systemd unit)"
            )
        ]
    }
}
