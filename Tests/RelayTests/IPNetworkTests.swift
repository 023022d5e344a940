import NIOCore
import Relay
import Testing

/// CIDR parsing and matching for listener allow-lists, with Zabbix's `Server=` semantics.
@Suite struct IPNetworkTests {
    func network(_ text: String) throws -> IPNetwork { try IPNetwork(parsing: text) }
    func address(_ text: String) throws -> IPAddress { try #require(IPAddress(parsing: text)) }

    @Test func ipv4NetworkContainsItsAddressesOnly() throws {
        let net = try self.network("10.0.0.0/8")
        #expect(net.contains(try self.address("10.0.0.1")))
        #expect(net.contains(try self.address("10.255.255.255")))
        #expect(!net.contains(try self.address("11.0.0.0")))
        #expect(!net.contains(try self.address("9.255.255.255")))
        #expect(!net.contains(try self.address("::a00:1")), "an IPv6 address with the same low bits is not IPv4")
    }

    @Test func plainAddressIsANetworkOfOne() throws {
        let v4 = try self.network("192.0.2.7")
        #expect(v4.contains(try self.address("192.0.2.7")))
        #expect(!v4.contains(try self.address("192.0.2.8")))
        #expect(v4.description == "192.0.2.7")
        let v6 = try self.network("2001:db8::1")
        #expect(v6.contains(try self.address("2001:db8::1")))
        #expect(!v6.contains(try self.address("2001:db8::2")))
        #expect(v6.description == "2001:db8::1")
    }

    @Test func ipv6NetworkMatchesByPrefix() throws {
        let net = try self.network("2001:db8::/32")
        #expect(net.contains(try self.address("2001:db8:ffff::1")))
        #expect(!net.contains(try self.address("2001:db9::1")))
        #expect(net.description == "2001:db8::/32")
    }

    @Test func ipv4MappedPeersMatchIPv4Rules() throws {
        // A dual-stack listener ([::]:10051) reports IPv4 clients as ::ffff:a.b.c.d.
        let mapped = try self.address("::ffff:10.1.2.3")
        #expect(mapped == (try self.address("10.1.2.3")))
        #expect(try self.network("10.0.0.0/8").contains(mapped))
        let peer = try SocketAddress(ipAddress: "::ffff:10.1.2.3", port: 10051)
        #expect(IPAddress(peer) == (try self.address("10.1.2.3")))
        #expect(IPAddress(try SocketAddress(ipAddress: "10.1.2.3", port: 1)) == mapped)
        // A rule written in mapped form is the IPv4 rule.
        #expect(try self.network("::ffff:10.0.0.0/104") == (try self.network("10.0.0.0/8")))
    }

    @Test func anyIPv6MatchesIPv4TooLikeZabbix() throws {
        // Zabbix: "::/0 will allow any IPv4 or IPv6 address"; 0.0.0.0/0 any IPv4 address.
        let any6 = try self.network("::/0")
        let any4 = try self.network("0.0.0.0/0")
        #expect(any6.contains(try self.address("192.0.2.1")))
        #expect(any6.contains(try self.address("2001:db8::1")))
        #expect(any4.contains(try self.address("192.0.2.1")))
        #expect(!any4.contains(try self.address("2001:db8::1")))
        #expect(IPNetwork.everyone.map(\.description) == ["0.0.0.0/0", "::/0"])
    }

    @Test func hostBitsAreIgnoredAsZabbixDoes() throws {
        let net = try self.network("192.168.1.7/24")
        #expect(net.description == "192.168.1.0/24")
        #expect(net.contains(try self.address("192.168.1.200")))
    }

    @Test(arguments: [
        "", "10.0.0.0/33", "::/129", "10.0.0/8", "zabbix.example.net", "10.0.0.0/x", "10.0.0.0/", "1.2.3.4/-1",
    ])
    func malformedNetworksAreRefused(_ text: String) {
        #expect(throws: IPNetwork.ParseError.self) { try IPNetwork(parsing: text) }
    }

    /// A typo must not become a network: `Int("+8")` and `Int("08")` are 8, and `/+8` would then
    /// silently mean `/8`. The prefix is digits only, without a leading zero, within range.
    @Test(arguments: [
        "10.0.0.0/+8", "10.0.0.0/08", "10.0.0.0/ 8", "10.0.0.0/8 ", "10.0.0.0/-0", "10.0.0.0/8/8", "10.0.0.0/0x8",
        "10.0.0.0/١", "2001:db8::/+32", "2001:db8::/032", "::/00", "010.0.0.0/8", "10.0.0.0/99999999999999999999",
    ])
    func prefixesAreDigitsOnlyWithoutSignOrLeadingZero(_ text: String) {
        #expect(throws: IPNetwork.ParseError.self) { try IPNetwork(parsing: text) }
    }

    @Test func theSmallestAndLargestPrefixesAreAccepted() throws {
        #expect(try self.network("0.0.0.0/0").prefixBits == 96)
        #expect(try self.network("10.1.2.3/32").description == "10.1.2.3")
        #expect(try self.network("::/0").prefixBits == 0)
        #expect(try self.network("2001:db8::1/128").description == "2001:db8::1")
    }

    @Test func loopbackAndUnspecifiedAreRecognised() throws {
        #expect(try self.address("127.0.0.2").isLoopback)
        #expect(try self.address("::1").isLoopback)
        #expect(try self.address("::ffff:127.0.0.1").isLoopback)
        #expect(!(try self.address("10.0.0.1").isLoopback))
        #expect(try self.address("0.0.0.0").isUnspecified)
        #expect(try self.address("::").isUnspecified)
        #expect(!(try self.address("::2").isLoopback))
    }
}
