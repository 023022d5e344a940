import Foundation
import NIOCore
import Relay
import TestSupport
import Testing

/// Acceptance (issue 7, limits): each limit and the allow-list, on real sockets. A refused
/// connection is closed by the tee before the target sees a connection; the warning is logged
/// (once per interval); the counter says how many; allowed connections keep working. Different
/// clients are played by binding to different loopback addresses (127.0.0.0/8 is all loopback).
@Suite(.tags(.integration), .tier(.integration), .serialized, .timeLimit(.minutes(2))) struct ConnectionLimitTests {
    let log = CapturedLog()

    func relay(
        target: EchoTarget,
        _ configure: @escaping (inout RelayListenerConfiguration) -> Void
    ) async throws -> RelayHarness {
        try await RelayHarness(targets: [target.port], logger: self.log.logger(level: .info), configure: configure)
    }

    @Test func clientOutsideTheAllowListIsClosedBeforeAnyTargetConnect() async throws {
        let target = try EchoTarget()
        let relay = try await self.relay(target: target) { $0.allow = [try! IPNetwork(parsing: "127.0.0.2/32")] }
        #expect(try await EchoTarget.closedAtOnce(port: relay.port, from: "127.0.0.1"))
        #expect(relay.statistics.connectionsRefused(.notAllowed) == 1)
        let lines = self.log.entries(containing: "not in the listener's allow list")
        #expect(lines.count == 1)
        #expect(lines.first?.metadata["peer"]?.hasPrefix("127.0.0.1:") == true)
        #expect(lines.first?.metadata["listener"] == "test")
        #expect(lines.first?.metadata["allow"] == "127.0.0.2")

        let allowed = try await EchoTarget.echoingClient(port: relay.port, from: "127.0.0.2")
        #expect(target.connections == 1, "only the allowed client reached the target")
        #expect(relay.statistics.connectionsAccepted == 1)
        allowed.close()
        #expect(try await relay.shutdown())
        target.stop()
    }

    @Test func ipv6ClientsAreMatchedAgainstIPv6Networks() async throws {
        let target = try EchoTarget()
        let relay = try await self.relay(target: target) {
            $0.listen = [Endpoint(host: "::1", port: 0)]
            $0.allow = [try! IPNetwork(parsing: "::1")]
        }
        let allowed = try await TestThreads.start { () throws -> Bool in
            let socket = try BlockingSocket.connect(host: "::1", port: relay.port)
            defer { socket.close() }
            socket.setReceiveTimeout(seconds: 10)
            try socket.send("v6")
            return try socket.receive(exactly: 2) == Array("v6".utf8)
        }.value
        #expect(allowed)
        relay.listener.admission.update(
            .init(allow: [try IPNetwork(parsing: "127.0.0.0/8"), try IPNetwork(parsing: "2001:db8::/32")])
        )
        let refused = try await TestThreads.start { () throws -> Bool in
            let socket = try BlockingSocket.connect(host: "::1", port: relay.port)
            defer { socket.close() }
            socket.setReceiveTimeout(seconds: 5)
            return try socket.receive().isEmpty
        }.value
        #expect(refused, "::1 is not 127.0.0.1: IPv6 loopback does not match the IPv4 loopback network")
        #expect(relay.statistics.connectionsRefused(.notAllowed) == 1)
        #expect(self.log.entries(containing: "allow list").first?.metadata["peer"]?.hasPrefix("[::1]:") == true)
        #expect(target.connections == 1)
        #expect(try await relay.shutdown())
        target.stop()
    }

    @Test func perSourceLimitRefusesOneAddressAndNotTheOthers() async throws {
        let target = try EchoTarget()
        let relay = try await self.relay(target: target) { $0.maxConnectionsPerSource = 2 }
        let held = [
            try await EchoTarget.echoingClient(port: relay.port, from: "127.0.0.1"),
            try await EchoTarget.echoingClient(port: relay.port, from: "127.0.0.1"),
        ]
        #expect(try await EchoTarget.closedAtOnce(port: relay.port, from: "127.0.0.1"))
        #expect(relay.statistics.connectionsRefused(.sourceLimit) == 1)
        #expect(target.connections == 2, "the refused connection never reached the target")
        let other = try await EchoTarget.echoingClient(port: relay.port, from: "127.0.0.3")
        #expect(target.connections == 3)
        let lines = self.log.entries(containing: "per-source connection limit reached")
        #expect(lines.count == 1)
        #expect(lines.first?.metadata["max_connections_per_source"] == "2")
        #expect(lines.first?.metadata["peer"]?.hasPrefix("127.0.0.1:") == true)

        // Closing one frees a place for that address.
        held[0].close()
        #expect(
            await eventually { relay.listener.admission.openConnections(from: IPAddress(parsing: "127.0.0.1")!) == 1 }
        )
        let again = try await EchoTarget.echoingClient(port: relay.port, from: "127.0.0.1")
        for socket in [held[1], other, again] { socket.close() }
        #expect(try await relay.shutdown())
        target.stop()
    }

    @Test func acceptRateRefusesBeyondTheBurst() async throws {
        let target = try EchoTarget()
        let relay = try await self.relay(target: target) { $0.acceptRate = AcceptRate(perSecond: 0.01, burst: 2) }
        let first = try await EchoTarget.echoingClient(port: relay.port, from: "127.0.0.1")
        let second = try await EchoTarget.echoingClient(port: relay.port, from: "127.0.0.2")
        #expect(try await EchoTarget.closedAtOnce(port: relay.port, from: "127.0.0.3"))
        #expect(try await EchoTarget.closedAtOnce(port: relay.port, from: "127.0.0.1"))
        #expect(relay.statistics.connectionsRefused(.rateLimit) == 2)
        #expect(target.connections == 2)
        let lines = self.log.entries(containing: "accept rate limit reached")
        #expect(lines.count == 1, "the second refusal within the interval is not logged")
        #expect(lines.first?.metadata["burst"] == "2")
        #expect(try await EchoTarget.echo("still", on: first), "connections admitted before keep working")
        first.close()
        second.close()
        #expect(try await relay.shutdown())
        target.stop()
    }

    @Test func listenerConnectionLimitRefusesAndLogsOncePerInterval() async throws {
        let target = try EchoTarget()
        let relay = try await self.relay(target: target) {
            $0.maxConnections = 1
            // Long enough that three refusals fit in it on a loaded machine (300 ms did not).
            $0.refusalLogInterval = .seconds(2)
        }
        let held = try await EchoTarget.echoingClient(port: relay.port, from: "127.0.0.1")
        let firstRefusal = ContinuousClock.now
        for _ in 0..<3 { #expect(try await EchoTarget.closedAtOnce(port: relay.port, from: "127.0.0.4")) }
        #expect(self.log.entries(containing: "connection limit reached").count == 1)
        // The interval under test passes (it starts at the relay's first refusal, a little after
        // `firstRefusal`: half a second of margin either way).
        try await Task.sleep(until: firstRefusal + .milliseconds(2_500))
        #expect(try await EchoTarget.closedAtOnce(port: relay.port, from: "127.0.0.5"))
        let lines = self.log.entries(containing: "connection limit reached")
        #expect(lines.count == 2)
        #expect(lines.last?.metadata["suppressed-since-last-warning"] == "2")
        #expect(lines.last?.metadata["peer"]?.hasPrefix("127.0.0.5:") == true, "the last peer refused")
        #expect(relay.statistics.connectionsRefused(.maxConnections) == 4)
        #expect(target.connections == 1)
        held.close()
        #expect(await eventually { relay.listener.admission.openConnections == 0 })
        let after = try await EchoTarget.echoingClient(port: relay.port, from: "127.0.0.4")
        after.close()
        #expect(try await relay.shutdown())
        target.stop()
    }

    @Test func limitsChangedAtRuntimeApplyToTheNextConnection() async throws {
        let target = try EchoTarget()
        let relay = try await self.relay(target: target) { _ in }
        let first = try await EchoTarget.echoingClient(port: relay.port, from: "127.0.0.1")
        relay.listener.admission.update(.init(allow: [try IPNetwork(parsing: "127.0.0.9")]))
        #expect(try await EchoTarget.closedAtOnce(port: relay.port, from: "127.0.0.1"))
        let allowed = try await EchoTarget.echoingClient(port: relay.port, from: "127.0.0.9")
        #expect(try await EchoTarget.echo("open", on: first), "an open connection is not cut by the update")
        first.close()
        allowed.close()
        #expect(try await relay.shutdown())
        target.stop()
    }
}
