import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A socket address as the kernel hands it over (`accept4`, `getaddrinfo`, `getsockname`): a
/// plain value, copied without allocating, turned into an ``IPAddress`` for admission or a NIO
/// `SocketAddress` only when a log line or a tap needs one.
struct RawSocketAddress: Sendable {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)

    init() {}

    /// The address of `endpoint` when its host is an IP literal.
    init?(literal endpoint: Endpoint) {
        guard let address = endpoint.literalAddress else { return nil }
        self.init(address)
    }

    init?(_ address: SocketAddress) {
        switch address {
        case .v4(let v4):
            var raw = v4.address
            withUnsafeMutableBytes(of: &self.storage) { target in
                withUnsafeBytes(of: &raw) { target.copyMemory(from: $0) }
            }
            self.length = socklen_t(MemoryLayout<sockaddr_in>.size)
        case .v6(let v6):
            var raw = v6.address
            withUnsafeMutableBytes(of: &self.storage) { target in
                withUnsafeBytes(of: &raw) { target.copyMemory(from: $0) }
            }
            self.length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        case .unixDomainSocket:
            return nil
        }
    }

    var family: Int32 { Int32(self.storage.ss_family) }

    /// The IP address, for the allow-list and per-source counts.
    var ipAddress: IPAddress? {
        withUnsafeBytes(of: self.storage) { bytes in
            switch self.family {
            case AF_INET:
                let address = bytes.load(as: sockaddr_in.self)
                return IPAddress(ipv4: UInt32(bigEndian: address.sin_addr.s_addr))
            case AF_INET6:
                let address = bytes.load(as: sockaddr_in6.self)
                var value: UInt128 = 0
                withUnsafeBytes(of: address.sin6_addr) { for byte in $0 { value = (value << 8) | UInt128(byte) } }
                return IPAddress(bits: value)
            default:
                return nil
            }
        }
    }

    /// The NIO address (for log lines and taps).
    var socketAddress: SocketAddress? {
        withUnsafeBytes(of: self.storage) { bytes in
            switch self.family {
            case AF_INET:
                return SocketAddress(bytes.load(as: sockaddr_in.self), host: "")
            case AF_INET6:
                return SocketAddress(bytes.load(as: sockaddr_in6.self), host: "")
            default:
                return nil
            }
        }
    }

    /// Calls `body` with the address as the kernel takes it.
    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafeBytes(of: self.storage) { bytes in
            body(bytes.baseAddress!.assumingMemoryBound(to: sockaddr.self), self.length)
        }
    }
}
