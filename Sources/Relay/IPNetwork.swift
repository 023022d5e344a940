import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address, held as one 128-bit number so that both families compare alike.
///
/// IPv4 addresses are stored IPv4-mapped (`::ffff:a.b.c.d`), which is how a dual-stack socket
/// reports an IPv4 client; so `10.1.2.3` and `::ffff:10.1.2.3` are the same address, match the
/// same ``IPNetwork``s and count as the same source.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// The address as a big-endian 128-bit number (IPv4 mapped into `::ffff:0:0/96`).
    public let bits: UInt128

    static let mappedPrefix: UInt128 = 0xffff << 32

    /// The address from its 128-bit value.
    public init(bits: UInt128) {
        self.bits = bits
    }

    /// An IPv4 address from its 32-bit value (`0x7f000001` is 127.0.0.1).
    public init(ipv4 value: UInt32) {
        self.bits = Self.mappedPrefix | UInt128(value)
    }

    /// The address of an IP socket address; `nil` for Unix domain sockets.
    public init?(_ address: SocketAddress) {
        switch address {
        case .v4(let v4):
            self.init(ipv4: UInt32(bigEndian: v4.address.sin_addr.s_addr))
        case .v6(let v6):
            var value: UInt128 = 0
            withUnsafeBytes(of: v6.address.sin6_addr) { bytes in
                for byte in bytes { value = (value << 8) | UInt128(byte) }
            }
            self.init(bits: value)
        case .unixDomainSocket:
            return nil
        }
    }

    /// Parses an IPv4 (`192.0.2.1`) or IPv6 (`2001:db8::1`, `::ffff:192.0.2.1`) literal.
    public init?(parsing text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self.init(ipv4: UInt32(bigEndian: v4.s_addr))
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        var value: UInt128 = 0
        withUnsafeBytes(of: v6) { bytes in
            for byte in bytes { value = (value << 8) | UInt128(byte) }
        }
        self.init(bits: value)
    }

    /// Whether this is an IPv4 address (or an IPv4-mapped IPv6 address, the same thing here).
    public var isIPv4: Bool { self.bits >> 32 == 0xffff }

    /// `127.0.0.0/8` or `::1`.
    public var isLoopback: Bool {
        self.isIPv4 ? (self.bits >> 24) & 0xff == 127 : self.bits == 1
    }

    /// `0.0.0.0` or `::` (listen on every address).
    public var isUnspecified: Bool {
        self.bits == 0 || self.bits == Self.mappedPrefix
    }

    /// Dotted quad for IPv4, RFC 5952 text for IPv6 (`2001:db8::1`).
    public var description: String {
        if self.isIPv4 {
            let v = UInt32(truncatingIfNeeded: self.bits)
            return "\(v >> 24).\((v >> 16) & 0xff).\((v >> 8) & 0xff).\(v & 0xff)"
        }
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { bytes in
            for index in 0..<16 {
                bytes[index] = UInt8(truncatingIfNeeded: self.bits >> (8 * (15 - index)))
            }
        }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &address, &text, socklen_t(text.count)) != nil else { return "?" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A network in CIDR notation: `10.0.0.0/8`, `2001:db8::/32`; a plain address is a network of
/// one (`/32` for IPv4, `/128` for IPv6).
///
/// Matching follows the Zabbix agent's `Server=` parameter: IPv4 clients connecting to a
/// dual-stack listener (`::ffff:10.1.2.3`) match IPv4 networks, and `::/0` matches every IPv4
/// and IPv6 address while `0.0.0.0/0` matches every IPv4 address. Host bits below the prefix
/// are ignored (`192.168.1.7/24` is `192.168.1.0/24`), as Zabbix does.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// The first address of the network (host bits cleared).
    public let network: IPAddress
    /// Leading bits that must match, counted in the 128-bit space (IPv4 prefixes plus 96).
    public let prefixBits: Int

    /// Every client: `0.0.0.0/0` and `::/0` (the second alone would do; both read clearer).
    public static let everyone: [IPNetwork] = [
        IPNetwork(network: IPAddress(ipv4: 0), prefixBits: 96),
        IPNetwork(network: IPAddress(bits: 0), prefixBits: 0),
    ]

    /// Why a network could not be parsed.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
    }

    /// `address` with every bit after the first `prefixBits` cleared.
    public init(network: IPAddress, prefixBits: Int) {
        let bits = max(0, min(128, prefixBits))
        self.prefixBits = bits
        self.network = IPAddress(bits: network.bits & Self.mask(bits))
    }

    /// Parses `10.0.0.0/8`, `192.0.2.7`, `2001:db8::/32`, `::1`.
    public init(parsing text: String) throws(ParseError) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let addressText = String(parts[0])
        guard let address = IPAddress(parsing: addressText) else {
            throw ParseError(
                description:
                    "\"\(text)\" is not an IP address or network (examples: 10.0.0.0/8, 192.0.2.7, 2001:db8::/32)"
            )
        }
        // An IPv4 literal counts its prefix in 32 bits; IPv6 text (even ::ffff:a.b.c.d) in 128.
        let writtenAsIPv4 = !addressText.contains(":")
        let width = writtenAsIPv4 ? 32 : 128
        var prefix = width
        if parts.count == 2 {
            // Digits only: Int("+8") and Int("08") would be 8, and a typo must not become a network.
            guard let value = StrictDecimal.parse(parts[1]), (0...width).contains(value) else {
                throw ParseError(
                    description: "\"\(text)\" has an invalid prefix length \"\(parts[1])\" (expected 0-\(width))"
                )
            }
            prefix = value
        }
        self.init(network: address, prefixBits: writtenAsIPv4 ? 96 + prefix : prefix)
    }

    /// Whether `address` lies in this network.
    public func contains(_ address: IPAddress) -> Bool {
        address.bits & Self.mask(self.prefixBits) == self.network.bits
    }

    /// `10.0.0.0/8`, `2001:db8::/32`; a single address without a prefix.
    public var description: String {
        let ipv4 = self.prefixBits >= 96 && self.network.isIPv4
        let width = ipv4 ? self.prefixBits - 96 : self.prefixBits
        if width == (ipv4 ? 32 : 128) { return self.network.description }
        return "\(self.network)/\(width)"
    }

    private static func mask(_ bits: Int) -> UInt128 {
        bits == 0 ? 0 : ~UInt128(0) << (128 - bits)
    }
}

/// Unsigned decimal numbers as configuration writes them: ASCII digits only, no sign, no
/// whitespace, no leading zero (except `0` itself), at most 9 digits. `Int(_:)` would also take
/// `+8` and `008`.
enum StrictDecimal {
    static func parse(_ text: Substring) -> Int? {
        let digits = text.utf8
        guard !digits.isEmpty, digits.count <= 9,
            digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else {
            return nil
        }
        guard digits.count == 1 || digits.first != UInt8(ascii: "0") else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }
}
