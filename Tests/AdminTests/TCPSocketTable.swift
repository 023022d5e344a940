#if os(Linux)
import Glibc

/// The kernel's table of IPv4 TCP sockets (`/proc/net/tcp`), to tell *which* socket listens on a
/// port: a port number can pass from one socket to another, a socket's inode cannot.
enum TCPSocketTable {
    /// One row: local address as printed (`0100007F:1F90`), state (`0A` is LISTEN), inode.
    struct Row {
        var local: String
        var state: String
        var inode: UInt64
    }

    /// The inodes of the sockets listening on 127.0.0.1:`port`; nil if the table is unreadable.
    static func listeningInodes(port: Int) -> [UInt64]? {
        // The kernel prints the address as the hex of the network-order value in host order.
        let loopback = hex(UInt64(UInt32(0x7F00_0001).bigEndian), digits: 8)
        let local = "\(loopback):\(hex(UInt64(port), digits: 4))"
        return self.rows()?.filter { $0.local == local && $0.state == "0A" }.map(\.inode)
    }

    /// Whether this process has a file descriptor open on the socket with `inode`; nil if
    /// `/proc/self/fd` is unreadable. (Another process may hold the same socket: a program spawned
    /// while it was open inherits it unless it is close-on-exec, which NIO's sockets are not.)
    static func isOpenInThisProcess(inode: UInt64) -> Bool? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        let target = "socket:[\(inode)]"
        var link = [CChar](repeating: 0, count: 256)
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard Int(name) != nil else { continue }
            let length = readlink("/proc/self/fd/\(name)", &link, link.count - 1)
            guard length > 0 else { continue }
            let text = String(decoding: link[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text == target { return true }
        }
        return false
    }

    static func rows() -> [Row]? {
        guard let text = self.read("/proc/net/tcp") else { return nil }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 9, let inode = UInt64(fields[9]) else { return nil }
            return Row(local: String(fields[1]), state: String(fields[3]), inode: inode)
        }
    }

    /// Reads a whole procfs file (its size is reported as 0, so read to the end).
    private static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hex(_ value: UInt64, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
#endif
