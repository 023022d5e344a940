import Foundation

/// A real HAProxy (`/usr/sbin/haproxy`, Debian `haproxy`) in `mode tcp`, round robin, on
/// 127.0.0.1, in front of some ports: the load balancer of the several-instances tests. Runs in
/// the foreground (`-db`), stopped by its pid.
public final class HAProxyProcess: Sendable {
    public static let binary = "/usr/sbin/haproxy"
    public let child: ChildProcess
    public let directory: String
    public let port: Int

    private init(child: ChildProcess, directory: String, port: Int) {
        self.child = child
        self.directory = directory
        self.port = port
    }

    /// Why HAProxy cannot run here, or nil.
    public static var unavailableReason: String? {
        ZabbixPrograms.isExecutable(binary) ? nil : "haproxy (scripts/install-test-deps.sh)"
    }

    /// Starts HAProxy balancing each new connection round robin over `backends` (ports on
    /// 127.0.0.1), and waits until it accepts connections.
    public static func start(backends: [Int]) async throws -> HAProxyProcess {
        guard unavailableReason == nil else { throw ZabbixLabError.missing(unavailableReason ?? "haproxy") }
        let directory = try ZabbixLabDirectory.create("haproxy")
        let port = try LoopbackPort.free()
        let servers = backends.enumerated().map { "    server tee\($0.offset + 1) 127.0.0.1:\($0.element)" }
        try
            ([
                "global", "    maxconn 1000",
                "defaults", "    mode tcp", "    timeout connect 5s", "    timeout client 10m",
                "    timeout server 10m",
                "frontend zabbix", "    bind 127.0.0.1:\(port)", "    default_backend tees",
                "backend tees", "    balance roundrobin",
            ] + servers).joined(separator: "\n").appending("\n")
            .write(toFile: "\(directory)/haproxy.cfg", atomically: false, encoding: .utf8)
        let child = try ChildProcess(
            binary,
            ["-db", "-f", "\(directory)/haproxy.cfg"],
            stdoutPath: "\(directory)/haproxy.log",
            stderrPath: "\(directory)/haproxy.log"
        )
        let proxy = HAProxyProcess(child: child, directory: directory, port: port)
        do {
            try await waitUntil("haproxy to listen on \(port)", timeout: .seconds(10), interval: .milliseconds(50)) {
                guard child.isRunning else {
                    throw ZabbixLabError.missing(
                        "haproxy exited: \(ZabbixLabDirectory.tail("\(directory)/haproxy.log"))"
                    )
                }
                return LoopbackPort.isAccepting(port)
            }
        } catch {
            await proxy.stop()
            throw error
        }
        return proxy
    }

    public func stop() async {
        _ = await ProcessGroup.terminate(self.child.pid, grace: .seconds(5))
        _ = self.child.exitStatus
        ZabbixLabDirectory.remove(self.directory)
    }
}
