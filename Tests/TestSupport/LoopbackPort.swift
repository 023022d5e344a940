import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Free TCP ports on 127.0.0.1 for test listeners, and a probe for "is someone accepting there".
public enum LoopbackPort {
    private static let handedOut = Mutex<Set<Int>>([])

    /// Ports handed out: inside Zabbix's `ListenPort` range (1024...32767 — the kernel's ephemeral
    /// range, 32768 and up, is refused by Zabbix 6.0) and below it, clear of the usual services.
    public static let range = 20_000...32_767

    /// Returns a TCP port in `range` on 127.0.0.1 that can be bound right now.
    ///
    /// A port is never handed out twice in one test process, so parallel tests in this process do
    /// not collide with each other; other processes could still take it before it is used.
    ///
    /// Unlike a kernel-chosen port (bind to port 0), such a port can be listened on again after
    /// a listener on it was closed: the kernel never hands it to another `bind(0)` or uses it as
    /// the source port of a `connect()`, because it lies outside the ephemeral range. Ports that
    /// this machine's `ip_local_port_range` has made ephemeral are skipped while others remain.
    public static func free() throws -> Int {
        for _ in 0..<256 {
            let port = candidates.randomElement()!
            guard handedOut.withLock({ !$0.contains(port) }), canBind(port) else { continue }
            if handedOut.withLock({ $0.insert(port).inserted }) { return port }
        }
        throw LoopbackPortError.noFreePort
    }

    /// `range` minus the kernel's ephemeral ports (all of `range` if that leaves nothing).
    private static let candidates: [Int] = {
        let outside = kernelEphemeralRange().map { ephemeral in range.filter { !ephemeral.contains($0) } }
        return outside.flatMap { $0.isEmpty ? nil : $0 } ?? Array(range)
    }()

    /// The kernel's ephemeral port range (`/proc/sys/net/ipv4/ip_local_port_range`), if readable.
    private static func kernelEphemeralRange() -> ClosedRange<Int>? {
        #if os(Linux)
        let fd = open("/proc/sys/net/ipv4/ip_local_port_range", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        let numbers = String(decoding: buffer[..<count], as: UTF8.self)
            .split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
        guard numbers.count == 2, numbers[0] <= numbers[1] else { return nil }
        return numbers[0]...numbers[1]
        #else
        return nil
        #endif
    }

    /// True if a TCP connection to 127.0.0.1:`port` is accepted (the connection is closed at once).
    public static func isAccepting(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0
    }

    /// True if a listening socket could be bound to 127.0.0.1:`port` (and 0.0.0.0 is not taken).
    private static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return bound == 0 && !isAccepting(port)
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}

/// Why `LoopbackPort` could not find a port.
public enum LoopbackPortError: Error, CustomStringConvertible {
    case noFreePort

    public var description: String { "no free loopback port found in \(LoopbackPort.range)" }
}
